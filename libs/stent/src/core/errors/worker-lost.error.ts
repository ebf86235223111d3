import { StentError } from './stent.error.js';

/**
 * How an activity step ends when every worker that ran it died (or stopped renewing its lease) before
 * it finished, `recoveries` times in a row: the step is treated as a poison task, failed and put in the
 * dead-letter queue instead of being handed to yet another worker.
 */
export class WorkerLostError extends StentError {
  static override readonly code = 'STENT_WORKER_LOST';
  static override readonly category = 'outcome' as const;

  constructor(readonly recoveries: number) {
    super(`The worker running this step stopped ${recoveries} times; treated as a poison task`);
  }
}
