import { EventEmitter } from 'node:events';
import { stepsWorkKind, type NewStep, type WakeEvent } from '../core/index.js';

/** Carries wake events between the stores and workers that share one database. */
export interface WakeBus {
  /**
   * Tells subscribers (and, across processes, other buses) about `event`. `carried`: a committed statement
   * already sent the notice for other processes (see `finishedNotice`), so only this process is told.
   */
  publish(event: WakeEvent, carried?: boolean): void;
  /**
   * For a statement that announces the executions it finished in one notification: the channel, and the
   * payload's text before and after the events (each `{"type":"finished","executionId":...}`, joined with
   * commas); undefined where the bus has none.
   */
  finishedNotice?(): { channel: string; head: string; tail: string } | undefined;
  subscribe(listener: (event: WakeEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * Announces inserted steps (see stepsWorkKind): this process hears of every pending activity step, other
 * processes only of those their writer does not look for itself, unless the statement that inserted them
 * already told them (`carried`).
 */
export function announceSteps(bus: WakeBus, steps: readonly NewStep[], carried = false): void {
  const here = stepsWorkKind(steps);
  if (here) bus.publish({ type: 'work', of: here }, carried || !stepsWorkKind(steps, true));
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
