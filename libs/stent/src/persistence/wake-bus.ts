import { EventEmitter } from 'node:events';
import type { WakeEvent } from '../core/index.js';

/** Carries wake events between the stores and workers that share one database. */
export interface WakeBus {
  /**
   * Tells subscribers (and, across processes, other buses) about `event`. `carried`: a committed statement
   * already sent the notice for other processes (see `notice`), so only this process is told.
   */
  publish(event: WakeEvent, carried?: boolean): void;
  /**
   * The notification announcing `event` to other processes, for a statement to carry (PostgreSQL's
   * `pg_notify`, sent at that statement's commit), saving a round trip of its own; undefined where the bus
   * has none. Once the statement committed, the caller publishes the event with `carried` set.
   */
  notice?(event: WakeEvent): { channel: string; payload: string } | undefined;
  subscribe(listener: (event: WakeEvent) => void): () => void;
  close(): Promise<void>;
}

/** Wake-ups inside one process: every store opened on the same database file shares one bus. */
export class LocalWakeBus implements WakeBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: WakeEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: WakeEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  async close(): Promise<void> {}
}

const sharedBuses = new Map<string, LocalWakeBus>();

export function localBusFor(key: string): LocalWakeBus {
  let bus = sharedBuses.get(key);
  if (!bus) {
    bus = new LocalWakeBus();
    sharedBuses.set(key, bus);
  }
  return bus;
}
