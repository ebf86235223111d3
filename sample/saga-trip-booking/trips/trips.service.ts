import { Injectable } from '@nestjs/common';
import { StentExecutor } from 'nestjs-stent';
import { TripBookingWorkflow } from './trip-booking.workflow.js';
import type { TripRequest } from './trip.js';

@Injectable()
export class TripsService {
  constructor(private readonly stent: StentExecutor) {}

  /** Starts booking a trip; booking the same trip id again returns the execution already under way. */
  book(trip: TripRequest): Promise<string> {
    return this.stent.dispatch(TripBookingWorkflow, [trip], { idempotencyKey: `trip:${trip.id}` });
  }

  outcome(executionId: string) {
    return this.stent.waitFor<Awaited<ReturnType<TripBookingWorkflow['run']>>>(executionId, { timeout: '5m' });
  }
}
