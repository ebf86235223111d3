import { LocalWakeBus, type WakeBus } from './wake-bus.js';
import type { WakeEvent } from '../core/index.js';

/**
 * The wake bus of a store whose connection is not open yet: events stay in this process until then;
 * once the real bus exists (attach), every subscriber moves over to it and everything goes through it.
 */
export class DeferredWakeBus implements WakeBus {
  private real: WakeBus | undefined;
  private readonly early = new LocalWakeBus();
  private readonly entries = new Set<{ listener: (event: WakeEvent) => void; off: () => void }>();

  attach(real: WakeBus): void {
    this.real = real;
    for (const entry of this.entries) {
      entry.off();
      entry.off = real.subscribe(entry.listener);
    }
  }

  publish(event: WakeEvent, carried?: boolean): void {
    (this.real ?? this.early).publish(event, carried);
  }

  finishedNotice(): { channel: string; head: string; tail: string } | undefined {
    return this.real?.finishedNotice?.();
  }

  subscribe(listener: (event: WakeEvent) => void): () => void {
    const entry = { listener, off: (this.real ?? this.early).subscribe(listener) };
    this.entries.add(entry);
    return () => {
      entry.off();
      this.entries.delete(entry);
    };
  }

  /** The real bus is closed with the connection (StoreConnection.close). */
  async close(): Promise<void> {}
}
