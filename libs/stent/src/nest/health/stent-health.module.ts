import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StentHealthIndicator } from './stent.health-indicator.js';

/** Provides StentHealthIndicator (with terminus' HealthIndicatorService) to the module that imports it. */
@Module({
  imports: [TerminusModule],
  providers: [StentHealthIndicator],
  exports: [StentHealthIndicator],
})
export class StentHealthModule {}
