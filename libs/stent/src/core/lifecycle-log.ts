import type { StentEvents } from './events.js';
import type { StentLogger } from './logger.js';

/**
 * Logs what an operator wants to hear of the lifecycle, each line with its execution and step ids as
 * context: retries (log) and attempts starting and ending (verbose, when
 * the logger has that level). Steps that failed for good and failed executions are logged (warn) by the worker, which names their workflow.
 */
export function logLifecycle(events: StentEvents, logger: StentLogger): void {
  events.on('step.retried', ({ executionId, stepId, position, name, attempt, error, retryAt }) => {
    logger.log(`Activity ${name} attempt ${attempt} failed (${error.message}); retrying at ${new Date(retryAt).toISOString()}`, {
      executionId,
      stepId,
      position,
      activity: name,
      attempt,
    });
  });
  const verbose = logger.verbose?.bind(logger);
  if (!verbose) return;
  events.on('step.started', ({ executionId, stepId, position, name, attempt }) => {
    verbose(`Activity ${name} attempt ${attempt} started`, { executionId, stepId, position, activity: name, attempt });
  });
  events.on('step.completed', ({ executionId, stepId, position, name, attempt, durationMs }) => {
    verbose(`Activity ${name} attempt ${attempt} completed in ${durationMs} ms`, { executionId, stepId, position, activity: name, attempt, durationMs });
  });
  events.on('execution.started', ({ executionId, workflowName, replay }) => {
    verbose(`Execution of ${workflowName} ${replay ? 'replaying its journal' : 'started'}`, { executionId, workflow: workflowName, replay });
  });
}
