import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Reservation, ReservationKind } from './trip.js';

const REFUSALS: Record<ReservationKind, string> = {
  flight: 'the flight is sold out',
  hotel: 'no rooms left for these nights',
  car: 'no cars available at the airport',
};

/**
 * Stands in for the airline, hotel and car-rental APIs (the only simulated part of the sample).
 * SAGA_FAIL names providers (flight, hotel, car; comma-separated) that refuse every reservation, as
 * during an outage; SAGA_LATENCY_MS is how long each call takes (default 100).
 */
@Injectable()
export class TravelProviders {
  private readonly refusing = new Set((process.env.SAGA_FAIL ?? '').split(',').map((kind) => kind.trim()));
  private readonly latencyMs = Number(process.env.SAGA_LATENCY_MS ?? 100);

  async reserve(kind: ReservationKind, summary: string): Promise<Reservation> {
    await this.call();
    if (this.refusing.has(kind)) throw new Error(REFUSALS[kind]);
    return { kind, confirmation: `${kind.slice(0, 2).toUpperCase()}-${randomUUID().slice(0, 6).toUpperCase()}`, summary };
  }

  async cancel(reservation: Reservation): Promise<void> {
    await this.call();
  }

  private call(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }
}
