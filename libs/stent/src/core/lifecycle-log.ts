import type { StentEvents } from './events.js';
import type { StentLogger } from './logger.js';

/**
 * Logs what an operator wants to hear of the lifecycle, each line with its execution and step ids as
 * context: retries (log), steps that failed for good (warn), and attempts starting and ending (verbose, when
 * the logger has that level). Execution endings are left to waitFor and the events (decoding every
 * result to log it would cost the hot path).
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
  events.on('step.dead_lettered', ({ executionId, stepId, position, name, attempt, error, reason }) => {
    logger.warn(`Activity ${name} failed for good after ${attempt} attempt(s) (${reason}): ${error.message}`, { executionId, stepId, position, activity: name, attempt });
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
