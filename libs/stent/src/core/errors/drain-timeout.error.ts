import { StentError } from './stent.error.js';

/**
 * The testing harness waited its real-time limit for the engine to settle and it did not: something is
 * still due or in flight that no worker takes (a queue or activity nobody serves, a body that never returns).
 */
export class DrainTimeoutError extends StentError {
  static override readonly code = 'STENT_DRAIN_TIMEOUT';
  static override readonly category = 'timeout' as const;

  constructor(
    readonly timeoutMs: number,
    /** What was still going on when the limit ran out. */
    readonly left: string,
  ) {
    super(`The engine did not settle within ${timeoutMs} ms of real time: ${left}`);
  }
}
