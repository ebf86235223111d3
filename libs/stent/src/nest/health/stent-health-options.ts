import type { Duration } from '../../core/index.js';

/** What StentHealthIndicator checks besides the database and the worker. */
export interface StentHealthOptions {
  /** Time limit of the database ping (and of reading the backlog). Default '2s'. */
  timeout?: Duration;
  /** Down when the oldest due work (an activity or an execution to start or resume) has waited longer. Not checked by default. */
  maxBacklogAge?: Duration;
  /** Down when more tasks than this are dead-lettered. Not checked by default. */
  maxDeadLetters?: number;
}
