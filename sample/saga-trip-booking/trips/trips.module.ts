import { Module } from '@nestjs/common';
import { BookingActivities } from './booking.activities.js';
import { CancellationActivities } from './cancellation.activities.js';
import { TravelProviders } from './travel-providers.js';
import { TripBookingWorkflow } from './trip-booking.workflow.js';
import { TripsService } from './trips.service.js';

@Module({
  providers: [TravelProviders, BookingActivities, CancellationActivities, TripBookingWorkflow, TripsService],
  exports: [TripsService],
})
export class TripsModule {}
