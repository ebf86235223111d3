import { SignalTimeoutError } from '../errors/index.js';
import { decode, encodeError } from '../serialization.js';
import { never } from './run-journal.js';
import type { SignalTake } from '../store/index.js';
import type { WorkflowRun } from './workflow-run.js';

/**
 * Stent.waitForSignal: a journal step that waits for a named signal, or for its time-out. Signals are
 * stored by the sender whether or not anyone waits yet, so the wait tries to take one as soon as its own
 * step is recorded, and again whenever the run is woken or resumed.
 */
export function waitForSignal(run: WorkflowRun, name: string, timeoutMs: number | undefined): Promise<unknown> {
  if (run.ended) return never();
  const position = run.journal.take();
  const recorded = run.journal.check(position, 'signal', name);
  if (recorded === null) return never();
  if (recorded) return run.journal.answer(recorded);
  const now = run.host.clock.now();
  const fireAt = timeoutMs === undefined ? null : now + timeoutMs;
  const step = run.journal.valueStep(position, 'signal', name, 'waiting', null, fireAt);
  step.timeoutMs = timeoutMs ?? null;
  run.writer.enqueueInsert(step);
  const waiting = run.delivery.wait(position, 'signal', fireAt, name);
  // A signal sent before this wait is already stored: try to take it at once (after the step is recorded).
  run.writer.flushInserts();
  run.writer.enqueueWrite(() => takeSignal(run, position, name, false));
  return waiting;
}

/**
 * Consumes a stored signal for the wait at `position`, or records its time-out (`timedOut`), in the same
 * transaction that settles the step; a lost lease abandons the run, whose next holder takes it instead.
 * Signals of one name go to its waits in call order: open waits of the same name before `position` take
 * first. A take that found nothing for an earlier wait may have run just before the signal was stored, and
 * a later wait's take just after; without this the later wait would get the older signal.
 */
export async function takeSignal(run: WorkflowRun, position: number, name: string, timedOut: boolean): Promise<void> {
  const earlier = run.delivery.waiting().filter((w) => w.kind === 'signal' && w.signal === name && w.position < position);
  for (const waiter of earlier) {
    const outcome = await takeAt(run, waiter.position, name, false);
    if (outcome === 'lost') return;
    // Nothing stored for an earlier wait, so nothing for this one (a signal stored since wakes the run,
    // whose takes run again in call order); only a time-out is left to record.
    if (outcome === 'none') {
      if (timedOut) await takeAt(run, position, name, true);
      return;
    }
  }
  await takeAt(run, position, name, timedOut);
}

/** One take for the wait at `position`: what the store answered, or 'skipped' when the wait is not open. */
async function takeAt(run: WorkflowRun, position: number, name: string, timedOut: boolean): Promise<SignalTake['kind'] | 'skipped'> {
  if (run.ended || !run.delivery.stillOpen(position)) return 'skipped';
  const waiter = run.delivery.waiterAt(position)!;
  const timeoutMs = waiter.fireAt !== null ? (run.journal.get(position)?.timeoutMs ?? 0) : 0;
  const outcome = await run.host.store.consumeSignal(
    run.fence,
    position,
    name,
    run.host.clock.now(),
    timedOut ? encodeError(new SignalTimeoutError(name, timeoutMs)) : null,
  );
  if (outcome.kind === 'lost') {
    run.lifecycle.abandon('lease lost while taking a signal');
  } else if (outcome.kind === 'received') {
    run.host.events.emit('signal.received', { executionId: run.executionId, workflowName: run.execution.workflowName, name, position });
    run.delivery.settle(position, { ok: true, value: decode(outcome.payload) });
  } else if (outcome.kind === 'timed_out') {
    run.delivery.settle(position, { ok: false, error: new SignalTimeoutError(name, timeoutMs) });
  }
  return outcome.kind;
}
