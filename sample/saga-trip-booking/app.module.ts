import { Module } from '@nestjs/common';
import { stentForSample } from '../shared/stent-for-sample.js';
import { TripsModule } from './trips/trips.module.js';

@Module({
  imports: [stentForSample('saga-trip-booking.db'), TripsModule],
})
export class AppModule {}
