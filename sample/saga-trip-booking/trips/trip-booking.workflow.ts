import { ActivityFailedError, Result, Stent, Workflow } from 'nestjs-stent';
import { failureReason } from '../../shared/failure-reason.js';
import { BookingActivities } from './booking.activities.js';
import { CancellationActivities } from './cancellation.activities.js';
import type { Itinerary, Reservation, TripNotBooked, TripRequest } from './trip.js';

interface Compensation {
  what: string;
  undo: () => Promise<void>;
}

const describe = (reservation: Reservation): string => `${reservation.kind} ${reservation.confirmation}`;

/**
 * The saga: book the flight, the hotel and the car one after another. When a booking fails for good,
 * undo the ones already made, newest first, and end `completed` with an error Result: the trip was
 * handled as intended, it just could not be booked. Every booking and cancellation is a durable step,
 * so after a crash the saga continues where it was and never books or cancels anything twice.
 */
@Workflow({ maxDuration: '1h' })
export class TripBookingWorkflow {
  constructor(
    private readonly bookings: BookingActivities,
    private readonly cancellations: CancellationActivities,
  ) {}

  async run(trip: TripRequest): Promise<Result<Itinerary, TripNotBooked>> {
    // What to undo if a later booking fails, in the order the bookings were made.
    const compensations: Compensation[] = [];
    try {
      Stent.setProgress({ stage: 'booking flight' });
      const flight = await this.bookings.bookFlight(trip);
      compensations.push({ what: describe(flight), undo: () => this.cancellations.cancelFlight(flight) });
      Stent.setProgress({ stage: 'booking hotel' });
      const hotel = await this.bookings.bookHotel(trip);
      compensations.push({ what: describe(hotel), undo: () => this.cancellations.cancelHotel(hotel) });
      Stent.setProgress({ stage: 'renting car' });
      const car = await this.bookings.rentCar(trip);
      Stent.setProgress({ stage: 'booked' });
      return Result.ok({ tripId: trip.id, flight, hotel, car });
    } catch (error) {
      Stent.setProgress({ stage: 'compensating' });
      const cancelled: string[] = [];
      for (const compensation of compensations.reverse()) {
        await compensation.undo();
        cancelled.push(compensation.what);
      }
      Stent.setProgress({ stage: 'cancelled' });
      const failedStep = error instanceof ActivityFailedError ? error.activityName : 'workflow';
      return Result.error({ tripId: trip.id, failedStep, reason: failureReason(error), cancelled });
    }
  }
}
