import { Module, type DynamicModule } from '@nestjs/common';
import { ManualClock } from '../core/index.js';
import { StentModule } from '../nest/index.js';
import { StentTestHarness } from './stent-test-harness.js';
import { STENT_TESTING_OPTIONS } from './testing.constants.js';
import { TESTING_WORKER, type StentTestingOptions } from './testing-options.js';

/**
 * StentModule for tests, used inside Test.createTestingModule: an in-memory SQLite database, a
 * ManualClock that only moves when the test says so, and StentTestHarness to drive it (advance, drain,
 * runToCompletion, crashes) and to read journals. Providers replaced with overrideProvider stay durable.
 */
@Module({})
export class StentTestingModule {
  static forRoot(options: StentTestingOptions = {}): DynamicModule {
    const clock = new ManualClock(options.start);
    return {
      module: StentTestingModule,
      global: true,
      imports: [
        StentModule.forRoot({
          database: options.database ?? { type: 'better-sqlite3', database: ':memory:' },
          schema: options.schema,
          worker: { ...TESTING_WORKER, ...options.worker },
          clock,
          telemetry: options.telemetry,
          codec: options.codec,
          connectTimeout: '5s',
        }),
      ],
      providers: [{ provide: ManualClock, useValue: clock }, { provide: STENT_TESTING_OPTIONS, useValue: options }, StentTestHarness],
      exports: [ManualClock, StentTestHarness],
    };
  }
}
