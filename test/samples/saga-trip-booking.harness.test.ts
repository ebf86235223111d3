import 'reflect-metadata';
import { afterEach, describe, expect, it } from 'vitest';
import { Test, type TestingModule } from '@nestjs/testing';
import { StentExecutor } from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';
import { TravelProviders } from '../../sample/saga-trip-booking/trips/travel-providers.js';
import type { Reservation, ReservationKind, TripRequest } from '../../sample/saga-trip-booking/trips/trip.js';
import { TripBookingWorkflow } from '../../sample/saga-trip-booking/trips/trip-booking.workflow.js';
import { TripsModule } from '../../sample/saga-trip-booking/trips/trips.module.js';

/** The travel APIs, faked: what was reserved and cancelled, in order, and which providers refuse. */
class FakeProviders {
  readonly calls: string[] = [];
  private seq = 0;
  constructor(private readonly refusing: ReservationKind[] = []) {}

  async reserve(kind: ReservationKind, summary: string): Promise<Reservation> {
    this.calls.push(`reserve ${kind}`);
    if (this.refusing.includes(kind)) throw new Error(`${kind} refused`);
    return { kind, confirmation: `${kind}-${++this.seq}`, summary };
  }

  async cancel(reservation: Reservation): Promise<void> {
    this.calls.push(`cancel ${reservation.confirmation}`);
  }
}

const TRIP: TripRequest = { id: 'trip-1', traveller: 'Ann', from: 'LIS', to: 'OSL', departure: '2030-02-01', nights: 3 };

/** The saga sample driven in-process by the testing module: manual time, fakes, crashes. */
describe('sample/saga-trip-booking with nestjs-stent/testing', () => {
  let moduleRef: TestingModule | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  async function start(providers: FakeProviders): Promise<{ harness: StentTestHarness; executor: StentExecutor }> {
    moduleRef = await Test.createTestingModule({ imports: [StentTestingModule.forRoot(), TripsModule] })
      .overrideProvider(TravelProviders)
      .useValue(providers)
      .compile();
    await moduleRef.init();
    return { harness: moduleRef.get(StentTestHarness), executor: moduleRef.get(StentExecutor) };
  }

  it('books the flight, the hotel and the car, each once', async () => {
    const providers = new FakeProviders();
    const { harness, executor } = await start(providers);
    const id = await executor.dispatch(TripBookingWorkflow, [TRIP]);
    const outcome = await harness.runToCompletion(id);
    expect(outcome.unwrap()).toMatchObject({ tripId: 'trip-1', flight: { confirmation: 'flight-1' }, hotel: { confirmation: 'hotel-2' }, car: { confirmation: 'car-3' } });
    expect(providers.calls).toEqual(['reserve flight', 'reserve hotel', 'reserve car']);
    await harness.expectJournal(id, ['BookingActivities.bookFlight', 'BookingActivities.bookHotel', 'BookingActivities.rentCar'], { kinds: ['activity'] });
  });

  it('when the car is refused through its retries, cancels the hotel and then the flight', async () => {
    const providers = new FakeProviders(['car']);
    const { harness, executor } = await start(providers);
    const id = await executor.dispatch(TripBookingWorkflow, [TRIP]);
    const outcome = await harness.runToCompletion(id);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatchObject({ failedStep: 'BookingActivities.rentCar', cancelled: ['hotel hotel-2', 'flight flight-1'] });
    expect(providers.calls).toEqual(['reserve flight', 'reserve hotel', 'reserve car', 'reserve car', 'reserve car', 'cancel hotel-2', 'cancel flight-1']);
    await harness.expectJournal(
      id,
      [
        { name: 'BookingActivities.bookFlight', attempts: 1 },
        { name: 'BookingActivities.bookHotel', attempts: 1 },
        { name: 'BookingActivities.rentCar', state: 'failed', attempts: 3 },
        'CancellationActivities.cancelHotel',
        'CancellationActivities.cancelFlight',
      ],
      { kinds: ['activity'] },
    );
  });

  it('a crash while the hotel is being cancelled: after the restart the flight and hotel are not booked again, the hotel cancellation runs again', async () => {
    const providers = new FakeProviders(['car']);
    const { harness, executor } = await start(providers);
    harness.crashOnStep('CancellationActivities.cancelHotel');
    const id = await executor.dispatch(TripBookingWorkflow, [TRIP]);
    const outcome = await harness.runToCompletion(id);
    expect(harness.crashes).toBe(1);
    expect(outcome.error).toMatchObject({ cancelled: ['hotel hotel-2', 'flight flight-1'] });
    expect(providers.calls.filter((call) => call.startsWith('reserve'))).toEqual(['reserve flight', 'reserve hotel', 'reserve car', 'reserve car', 'reserve car']);
    // At least once: the attempt that died with the worker ran, and so did its retry.
    expect(providers.calls.filter((call) => call === 'cancel hotel-2')).toHaveLength(2);
    expect(providers.calls.at(-1)).toBe('cancel flight-1');
    expect(await harness.attempts(id, 'CancellationActivities.cancelHotel')).toBe(2);
    expect(harness.replays(id)).toBeGreaterThanOrEqual(1);
  });
});
