import { checkName } from '../definitions/names.js';
import { ConfigurationError, StentError } from '../errors/index.js';
import { decode, encode } from '../serialization.js';
import type { StepEffect } from '../store/index.js';
import type { WorkflowRun } from './workflow-run.js';

/**
 * Journal positions that hold a value rather than wait for work: what Stent.now/uuid/random produced
 * (recorded once, read back on replay), and effects on the execution (progress, counters, state, events,
 * stream chunks) taken as positions so that a replay does not apply them twice.
 */

/** The value `produce` gave the first time this position ran; on replay, that value again. */
export function recordValue<T>(run: WorkflowRun, label: string, produce: () => T): T {
  if (run.ended) throw new StentError('This workflow run has ended');
  const position = run.journal.take();
  const recorded = run.journal.check(position, 'value', label);
  if (recorded === null) throw new StentError('This workflow run has ended');
  if (recorded) return decode(recorded.result) as T;
  const value = produce();
  run.writer.enqueueInsert(run.journal.valueStep(position, 'value', label, 'completed', encode(value), null));
  return value;
}

/** A change to the execution, taken as a journal position so a replay does not apply it twice. */
export function recordEffect(run: WorkflowRun, label: string, effect: StepEffect): void {
  if (run.ended) return;
  const position = run.journal.take();
  // The effect is kept with the step, so the execution's totals can be rebuilt if steps are dropped.
  const args = JSON.stringify(effect);
  const recorded = run.journal.check(position, 'value', label, args);
  if (recorded !== undefined) return;
  const step = run.journal.valueStep(position, 'value', label, 'completed', null, null);
  step.args = args;
  step.effect = effect;
  run.writer.enqueueInsert(step);
}

export function setProgress(run: WorkflowRun, progress: unknown): void {
  recordEffect(run, 'setProgress', { kind: 'progress', value: encode(progress, 'Stent.setProgress(progress)') });
}

export function incrementCounter(run: WorkflowRun, name: string, by: number): void {
  // Refused here, in the workflow's own code, rather than by the database in a write shared with others.
  checkName('counter', name);
  if (!Number.isFinite(by)) throw new StentError(`incrementCounter('${name}'): the increment must be a finite number`);
  recordEffect(run, `counter:${name}`, { kind: 'counter', name, by });
}

export function setState(run: WorkflowRun, key: string, value: unknown): void {
  if (typeof key !== 'string' || key === '') throw new ConfigurationError('Stent.setState: the key must be a non-empty string');
  checkName('state key', key);
  recordEffect(run, `state:${key}`, { kind: 'state', key, value: encode(value, `Stent.setState('${key}')`) });
}

export function setEvent(run: WorkflowRun, key: string, value: unknown): void {
  checkName('event key', key);
  recordEffect(run, `event:${key}`, { kind: 'event', key, value: encode(value, `Stent.setEvent('${key}')`) });
}
