import { checkName } from '../definitions/names.js';
import { StreamClosedError } from '../errors/index.js';
import { encode } from '../serialization.js';
import type { StepEffect } from '../store/index.js';

/**
 * What one run has written to its streams: the next entry number of each stream and the streams it
 * closed. Counted at call time, replayed calls included, so a replay numbers every entry as the first
 * run did and the journal position of each write finds the entry it recorded.
 */
export class RunStreams {
  private readonly next = new Map<string, number>();
  private readonly closed = new Set<string>();

  constructor(private readonly record: (label: string, effect: StepEffect) => void) {}

  write(key: string, chunk: unknown): void {
    checkName('stream key', key);
    if (this.closed.has(key)) throw new StreamClosedError(key);
    const value = encode(chunk, `Stent.writeStream('${key}')`);
    this.record(`stream:${key}`, { kind: 'stream', key, seq: this.take(key), chunk: value });
  }

  close(key: string): void {
    checkName('stream key', key);
    if (this.closed.has(key)) throw new StreamClosedError(key);
    this.closed.add(key);
    this.record(`stream-close:${key}`, { kind: 'stream', key, seq: this.take(key), chunk: null });
  }

  private take(key: string): number {
    const seq = this.next.get(key) ?? 0;
    this.next.set(key, seq + 1);
    return seq;
  }
}
