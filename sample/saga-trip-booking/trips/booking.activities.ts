import { Activity, Stent } from 'nestjs-stent';
import { narrate } from '../../shared/activity-trace.js';
import { TravelProviders } from './travel-providers.js';
import type { Reservation, ReservationKind, TripRequest } from './trip.js';

/**
 * One durable step per reservation. A refusal is retried with backoff (SAGA_RETRY_DELAY before the
 * second attempt, doubling after) before the workflow sees the booking fail for good.
 */
@Activity({ retry: { maxAttempts: 3, initialDelay: process.env.SAGA_RETRY_DELAY ?? '500ms', jitter: false } })
export class BookingActivities {
  constructor(private readonly providers: TravelProviders) {}

  bookFlight(trip: TripRequest): Promise<Reservation> {
    return reserve(this.providers, 'flight', `${trip.from} -> ${trip.to} on ${trip.departure} for ${trip.traveller}`);
  }

  bookHotel(trip: TripRequest): Promise<Reservation> {
    return reserve(this.providers, 'hotel', `${trip.nights} nights in ${trip.to} from ${trip.departure}`);
  }

  rentCar(trip: TripRequest): Promise<Reservation> {
    return reserve(this.providers, 'car', `compact car at ${trip.to} airport for ${trip.nights} days`);
  }
}

async function reserve(providers: TravelProviders, kind: ReservationKind, summary: string): Promise<Reservation> {
  const { attempt } = Stent.activity();
  narrate(`${kind}: reserving ${summary} (attempt ${attempt})`);
  try {
    const reservation = await providers.reserve(kind, summary);
    narrate(`${kind}: confirmed ${reservation.confirmation}`);
    return reservation;
  } catch (error) {
    narrate(`${kind}: refused: ${(error as Error).message}`);
    throw error;
  }
}
