// nestjs-stent/testing: the testing module and its harness (see the README, "Testing your workflows").
export { StentTestingModule } from './stent-testing.module.js';
export { StentTestHarness, type DrainOptions } from './stent-test-harness.js';
export { TESTING_WORKER, type StentTestingOptions } from './testing-options.js';
export { STENT_TESTING_OPTIONS } from './testing.constants.js';
export type { StepSummary, ExpectedStep, JournalFilter } from './journal-summary.js';
export { ManualClock } from '../core/clock/manual-clock.js';
export { DrainTimeoutError } from '../core/errors/drain-timeout.error.js';
export { ExecutionStuckError } from '../core/errors/execution-stuck.error.js';
export { JournalMismatchError } from '../core/errors/journal-mismatch.error.js';
