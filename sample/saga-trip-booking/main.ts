import { StentExecutor } from 'nestjs-stent';
import { printJournal } from '../shared/journal-report.js';
import { printOutcome } from '../shared/print-outcome.js';
import { runSample } from '../shared/run-sample.js';
import { AppModule } from './app.module.js';
import type { TripRequest } from './trips/trip.js';
import { TripsService } from './trips/trips.service.js';

// Usage: node dist/sample/saga-trip-booking/main.js [tripId]
// SAGA_FAIL=car (or flight, hotel) makes that provider refuse every booking: the saga compensates.
runSample(AppModule, async (app) => {
  const trip: TripRequest = {
    id: process.argv[2] ?? `trip-${Date.now()}`,
    traveller: 'Ada Lovelace',
    from: 'LIS',
    to: 'BER',
    departure: '2026-06-02',
    nights: 3,
  };
  console.log(`booking trip ${trip.id}: flight ${trip.from} -> ${trip.to}, hotel, car${process.env.SAGA_FAIL ? ` (refusing: ${process.env.SAGA_FAIL})` : ''}`);
  const trips = app.get(TripsService);
  const executionId = await trips.book(trip);
  console.log(`execution ${executionId} started`);
  const result = await trips.outcome(executionId);
  await printJournal(app.get(StentExecutor), executionId);
  printOutcome(executionId, result);
});
