import type { Clock } from '../clock/clock.js';
import { parseDuration, parseOptionalDuration, type Duration } from '../api/duration.js';
import { ExecutionNotFoundError, StentError, WaitTimeoutError } from '../errors/index.js';
import type { StentEvents } from '../events.js';
import { isFinalState, type Result } from '../api/result.js';
import type { StentStore } from '../store/index.js';
import type { Worker } from '../worker/worker.js';
import { finalOutcome } from './final-outcome.js';
import type { OutsideChanges } from './outside-changes.js';

export interface WaitForOptions {
  /** Give up (throwing WaitTimeoutError) after this long. Default: wait indefinitely. */
  timeout?: Duration;
  /**
   * How often to look at the database when no wake-up arrives. Default '250ms'. On SQLite a process that
   * does not run the execution also looks within 25 ms of another process's write (see OutsideChanges).
   */
  pollInterval?: Duration;
  /**
   * An execution that ended with Stent.continueAsNew: wait for the one it continued as, down the chain to
   * the last (the Result is that one's). Default true; false: the Result of this execution alone.
   */
  followContinuations?: boolean;
}

/** What a wait reads and hears through; `outside` where other processes' writes are not announced (SQLite). */
export interface WaitWorld {
  store: StentStore;
  events: StentEvents;
  worker: Worker | null;
  clock: Clock;
  outside?: OutsideChanges;
}

/** Waits for the end of an execution and, unless told otherwise, of the executions it continued as. */
export async function waitForChain(
  world: WaitWorld,
  executionId: string,
  options: WaitForOptions = {},
): Promise<Result<unknown, unknown>> {
  const timeoutMs = parseOptionalDuration(options.timeout);
  const started = world.clock.now();
  let id = executionId;
  for (;;) {
    const left = timeoutMs === undefined ? undefined : Math.max(0, timeoutMs - (world.clock.now() - started));
    let result: Result<unknown, unknown>;
    try {
      result = await waitForEnd(world, id, { ...options, timeout: left });
    } catch (error) {
      // The caller's wait ran out somewhere down the chain: it is the wait on the execution it named.
      if (error instanceof WaitTimeoutError && id !== executionId) throw new WaitTimeoutError(executionId, timeoutMs!);
      throw error;
    }
    // A continued execution completed with no value: only then is there a chain to follow.
    if (options.followContinuations === false || result.state !== 'completed' || !result.ok || result.value !== undefined) return result;
    const next = (await world.store.getExecution(id))?.continuedAs;
    if (!next) return result;
    id = next;
  }
}

/**
 * Resolves once the execution is final, with what it ended with. A run that ends in this process hands
 * its outcome over as an event; one that ends elsewhere is seen through a wake event or a poll.
 */
export async function waitForEnd(
  world: WaitWorld,
  executionId: string,
  options: WaitForOptions = {},
): Promise<Result<unknown, unknown>> {
  const { store, events, worker, clock } = world;
  const timeoutMs = parseOptionalDuration(options.timeout);
  const pollMs = parseDuration(options.pollInterval ?? '250ms');
  const started = clock.now();
  let wake: (() => void) | undefined;
  // Set by a wake-up that came while no wait was under way (during a read, which may have read the row as
  // it was before the end): the loop reads again instead of waiting a poll for an end already announced.
  let woken = false;
  const wakeUp = (): void => {
    woken = true;
    wake?.();
  };
  // A run that ends in this process hands its outcome over directly: no read after the wake-up.
  let ended: Result<unknown, unknown> | undefined;
  let unwatch: (() => void) | undefined;
  const onFinished = ({ executionId: id, result }: { executionId: string; result?: Result<unknown, unknown> }): void => {
    if (id !== executionId) return;
    ended = result;
    wakeUp();
  };
  events.on('execution.finished', onFinished);
  const unsubscribe = store.subscribe((event) => {
    // A macrotask later: when the run ended in this process, its outcome arrives by then (no read needed).
    if (event.type === 'finished' && event.executionId === executionId) setImmediate(wakeUp);
  });
  try {
    // A run this process holds is neither unknown nor final yet: its end arrives as an event.
    let skipRead = worker?.runs.holds(executionId) ?? false;
    for (;;) {
      if (ended) return ended;
      woken = false;
      const record = skipRead ? undefined : await readThroughOutage(store, executionId);
      skipRead = false;
      if (ended) return ended;
      if (record === null) throw new ExecutionNotFoundError(executionId);
      if (record && isFinalState(record.state)) return finalOutcome(record.id, record.state, record.result, record.error);
      const elapsed = clock.now() - started;
      if (timeoutMs !== undefined && elapsed >= timeoutMs) throw new WaitTimeoutError(executionId, timeoutMs);
      if (woken) continue;
      // An execution this process does not run ends elsewhere: on SQLite only a look at the file tells.
      if (!unwatch && world.outside && !worker?.runs.holds(executionId)) unwatch = world.outside.awaitEnd(executionId, wakeUp);
      const pause = timeoutMs === undefined ? pollMs : Math.min(pollMs, timeoutMs - elapsed);
      await new Promise<void>((resolve) => {
        const timer = clock.setTimer(pause, resolve);
        wake = () => {
          timer.cancel();
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    events.off('execution.finished', onFinished);
    unsubscribe();
    unwatch?.();
  }
}

/**
 * The execution's record, or undefined while the database is out of reach (a restart, a failover): the
 * wait goes on and looks again at its next poll instead of failing.
 */
async function readThroughOutage(store: StentStore, executionId: string) {
  try {
    return await store.getExecution(executionId);
  } catch (error) {
    if (error instanceof StentError && error.category === 'unavailable') return undefined;
    throw error;
  }
}
