import type { Clock } from '../clock/clock.js';
import { parseDuration, parseOptionalDuration, type Duration } from '../api/duration.js';
import { isFinalState } from '../api/result.js';
import { checkName } from '../definitions/names.js';
import { EventNotSetError, EventTimeoutError, ExecutionNotFoundError, StentError } from '../errors/index.js';
import { decode } from '../serialization.js';
import type { StentStore } from '../store/index.js';
import { ExecutionWatch } from './execution-watch.js';
import type { OutsideChanges } from './outside-changes.js';

export interface GetEventOptions {
  /** Give up (throwing EventTimeoutError) after this long. Default: wait until it is set or the execution ends. */
  timeout?: Duration;
  /** How often to look at the database when no wake-up arrives (on SQLite, also within 25 ms of another process's write). Default '250ms'. */
  pollInterval?: Duration;
}

export interface ReadStreamOptions {
  /** The index of the first chunk to read (0, the default, is the stream's start): resume after `index + 1`. */
  from?: number;
  /** How often to look at the database when no wake-up arrives (on SQLite, also within 25 ms of another process's write). Default '250ms'. */
  pollInterval?: Duration;
  /** Ends the iteration (without an error) when aborted: for a reader that goes away while the stream is quiet. */
  signal?: AbortSignal;
}

/** One chunk of a stream: its index in the stream (from 0) and the value the workflow wrote. */
export interface StreamChunk<T = unknown> {
  index: number;
  value: T;
}

interface World {
  store: StentStore;
  clock: Clock;
  outside?: OutsideChanges;
}

/** Entries read per query while catching up with a stream. */
const READ_BATCH = 200;

/**
 * The value the execution set for event `key` (Stent.setEvent): at once when it is set, else when it is.
 * Throws EventNotSetError when the execution ends without setting it, EventTimeoutError after `timeout`.
 */
export async function getEvent(world: World, executionId: string, key: string, options: GetEventOptions = {}): Promise<unknown> {
  checkName('event key', key);
  const timeoutMs = parseOptionalDuration(options.timeout);
  const pollMs = parseDuration(options.pollInterval ?? '250ms');
  const started = world.clock.now();
  const watch = new ExecutionWatch(world.store, world.clock, executionId, undefined, world.outside);
  try {
    for (;;) {
      // The execution is read before the event: an execution final here has written every event it set.
      const record = await watch.read();
      if (record === null) throw new ExecutionNotFoundError(executionId);
      const value = record === undefined ? null : await world.store.getEvent(executionId, key).catch(unlessUnavailable);
      if (value !== null && value !== undefined) return decode(value);
      if (record && isFinalState(record.state)) throw new EventNotSetError(executionId, key, record.state);
      const elapsed = world.clock.now() - started;
      if (timeoutMs !== undefined && elapsed >= timeoutMs) throw new EventTimeoutError(executionId, key, timeoutMs);
      await watch.next(timeoutMs === undefined ? pollMs : Math.min(pollMs, timeoutMs - elapsed));
    }
  } finally {
    watch.close();
  }
}

/**
 * The chunks of stream `key` (Stent.writeStream) from `from` on, each once and in order, as they are
 * written; ends after the last chunk when the workflow closes the stream or the execution ends.
 */
export async function* readStream<T>(world: World, executionId: string, key: string, options: ReadStreamOptions = {}): AsyncGenerator<StreamChunk<T>, void, undefined> {
  checkName('stream key', key);
  const from = options.from ?? 0;
  if (!Number.isSafeInteger(from) || from < 0) throw new StentError(`readStream: 'from' must be a whole number >= 0 (got ${String(from)})`);
  const pollMs = parseDuration(options.pollInterval ?? '250ms');
  const watch = new ExecutionWatch(world.store, world.clock, executionId, options.signal, world.outside);
  let next = from;
  try {
    for (;;) {
      if (options.signal?.aborted) return;
      // Read before the entries: an execution final here has written every entry it made.
      const record = await watch.read();
      if (record === null) throw new ExecutionNotFoundError(executionId);
      const final = record !== undefined && isFinalState(record.state);
      for (;;) {
        const entries = record === undefined ? [] : ((await world.store.readStream(executionId, key, next, READ_BATCH).catch(unlessUnavailable)) ?? []);
        let taken = 0;
        for (const entry of entries) {
          // Entries are handed out without gaps: one not yet visible is waited for, never skipped.
          if (entry.seq !== next) break;
          if (entry.closed || options.signal?.aborted) return;
          next++;
          taken++;
          yield { index: entry.seq, value: decode(entry.chunk) as T };
        }
        if (taken < READ_BATCH) break;
      }
      if (final) return;
      await watch.next(pollMs);
    }
  } finally {
    watch.close();
  }
}

/** A read that failed because the database is out of reach counts as nothing new (the next poll looks again). */
function unlessUnavailable(error: unknown): undefined {
  if (error instanceof StentError && error.category === 'unavailable') return undefined;
  throw error;
}
