import { Activity } from 'nestjs-stent';
import { narrate } from '../../shared/activity-trace.js';
import { TravelProviders } from './travel-providers.js';
import type { Reservation } from './trip.js';

/**
 * The compensations. They must take effect however long a provider struggles, so they retry far
 * longer than the bookings do. (The car needs none: it is booked last, so nothing after it can fail.)
 */
@Activity({ retry: { maxAttempts: 20, initialDelay: '1s', maxDelay: '1m' } })
export class CancellationActivities {
  constructor(private readonly providers: TravelProviders) {}

  cancelFlight(flight: Reservation): Promise<void> {
    return cancel(this.providers, flight);
  }

  cancelHotel(hotel: Reservation): Promise<void> {
    return cancel(this.providers, hotel);
  }
}

async function cancel(providers: TravelProviders, reservation: Reservation): Promise<void> {
  narrate(`${reservation.kind}: cancelling ${reservation.confirmation}`);
  await providers.cancel(reservation);
  narrate(`${reservation.kind}: cancelled ${reservation.confirmation}`);
}
