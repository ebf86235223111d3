/** Base class of every error Stent throws on purpose. */
export class StentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidDurationError extends StentError {
  constructor(readonly input: unknown) {
    super(
      `Invalid duration ${JSON.stringify(input) ?? String(input)}: use milliseconds as a number or a string such as '500ms', '30s', '1h30m', '2d', '1w'`,
    );
  }
}

export class SerializationError extends StentError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Value at ${path} cannot be stored durably: ${reason}`);
  }
}

export class ConfigurationError extends StentError {}

export class UnknownWorkflowError extends StentError {
  constructor(readonly workflowName: string) {
    super(`No workflow named '${workflowName}' is registered`);
  }
}

export class UnknownActivityError extends StentError {
  constructor(readonly activityName: string) {
    super(`No activity named '${activityName}' is registered`);
  }
}

export class DuplicateNameError extends StentError {
  constructor(
    readonly kind: 'workflow' | 'activity',
    readonly durableName: string,
  ) {
    super(`Two ${kind} definitions claim the name '${durableName}'; names are the durable identity and must be unique`);
  }
}

export class ExecutionNotFoundError extends StentError {
  constructor(readonly executionId: string) {
    super(`No execution with id '${executionId}'`);
  }
}

export class WaitTimeoutError extends StentError {
  constructor(
    readonly executionId: string,
    readonly timeoutMs: number,
  ) {
    super(`Execution '${executionId}' did not finish within ${timeoutMs} ms`);
  }
}

/** A workflow took a different path on replay than the one its journal recorded. */
export class NonDeterminismError extends StentError {
  constructor(
    readonly position: number,
    readonly recorded: string,
    readonly attempted: string,
  ) {
    super(
      `Non-deterministic workflow: journal position ${position} recorded '${recorded}' but the replay called '${attempted}'`,
    );
  }
}

/** Thrown into a workflow when an activity failed for good (attempts exhausted or a non-retryable error). */
export class ActivityFailedError extends StentError {
  constructor(
    readonly activityName: string,
    readonly attempts: number,
    cause: unknown,
    /** Journal position of the failed step in the workflow that called it ... */
    readonly position?: number,
    /** ... and that workflow's execution. */
    readonly executionId?: string,
  ) {
    super(
      `Activity '${activityName}' failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
}

/** Throw (or subclass) this inside an activity to fail it without further retries. */
export class NonRetryableError extends StentError {
  readonly nonRetryable = true;
}

export class ActivityTimeoutError extends StentError {
  constructor(
    readonly activityName: string,
    readonly timeoutMs: number,
  ) {
    super(`Activity '${activityName}' attempt exceeded its timeout of ${timeoutMs} ms`);
  }
}

export class WorkflowCancelledError extends StentError {
  constructor(readonly executionId: string) {
    super(`Execution '${executionId}' was cancelled`);
  }
}

export class WorkflowTimedOutError extends StentError {
  constructor(
    readonly executionId: string,
    readonly maxDurationMs: number,
  ) {
    super(`Execution '${executionId}' exceeded its maxDuration of ${maxDurationMs} ms`);
  }
}

export class SignalTimeoutError extends StentError {
  constructor(
    readonly signalName: string,
    readonly timeoutMs: number,
  ) {
    super(`No signal '${signalName}' arrived within ${timeoutMs} ms`);
  }
}

export class ExecutionFinishedError extends StentError {
  constructor(
    readonly executionId: string,
    readonly state: string,
  ) {
    super(`Execution '${executionId}' is already ${state}`);
  }
}

/** Calling a durable helper (Stent.sleep, ...) outside a running workflow. */
export class NotInWorkflowError extends StentError {
  constructor(what: string) {
    super(`${what} can only be called inside a running workflow`);
  }
}

export class ResultUnwrapError extends StentError {
  constructor(readonly error: unknown) {
    super(`Called unwrap() on an error Result: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  }
}

export class DeadLetterNotFoundError extends StentError {
  constructor(readonly id: string) {
    super(`No dead-lettered task with id '${id}'`);
  }
}
