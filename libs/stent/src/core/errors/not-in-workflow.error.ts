import { StentError } from './stent.error.js';

/**
 * Calling a durable helper (Stent.sleep, ...) outside a running workflow, or from code that outlived its
 * run (a timer or promise started inside a workflow that has since finished or been suspended).
 */
export class NotInWorkflowError extends StentError {
  static override readonly code = 'STENT_NOT_IN_WORKFLOW';
  static override readonly category = 'bad_input' as const;

  constructor(
    what: string,
    /** Called from the async context of a workflow run that had already ended. */
    readonly afterRunEnded = false,
  ) {
    super(
      afterRunEnded
        ? `${what} was called after its workflow run ended (from a timer or promise that outlived the run); durable helpers work only while the run is live`
        : `${what} can only be called inside a running workflow`,
    );
  }
}
