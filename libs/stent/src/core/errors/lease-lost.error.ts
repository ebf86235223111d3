import { StentError } from './stent.error.js';

/**
 * The reason an attempt's AbortSignal fires when its worker no longer holds the attempt's lease: another
 * worker took the task over, or the lease ran out before a renewal succeeded (a stalled or cut-off
 * worker). The task goes on elsewhere; anything this attempt still records is refused.
 */
export class LeaseLostError extends StentError {
  static override readonly code = 'STENT_LEASE_LOST';
  static override readonly category = 'unavailable' as const;

  constructor(
    readonly what: 'step' | 'execution',
    readonly id: string,
    readonly why: 'taken over' | 'not renewed in time',
  ) {
    super(
      why === 'taken over'
        ? `This worker's lease on ${what} ${id} was taken over by another worker`
        : `This worker could not renew its lease on ${what} ${id} before it ran out; another worker may take it over`,
    );
  }
}
