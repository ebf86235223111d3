// Types only: `pg` itself is loaded when a listener connects, so an application that uses SQLite alone
// needs no `pg` installed.
import type { Client, ClientConfig, Pool } from 'pg';
import { LocalWakeBus, type WakeBus } from './wake-bus.js';
import type { WakeEvent } from '../core/index.js';

/** First and longest pause before the listening connection is made again after it was lost. */
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 10_000;

/**
 * Wake-ups across processes on PostgreSQL: publish sends NOTIFY, and one listening connection per
 * bus forwards notifications to local subscribers. If that connection drops (a server restart, a
 * terminated backend) it reconnects with back-off, and once it listens again every subscriber is woken
 * to look for what was announced meanwhile; workers poll in between, so a lost notification only delays
 * work by the polling interval.
 */
export class PostgresWakeBus implements WakeBus {
  private readonly local = new LocalWakeBus();
  private readonly channel: string;
  private readonly origin = Math.random().toString(36).slice(2, 10);
  private listener: Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private subscribers = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private reconnectPause = RECONNECT_FIRST_MS;
  /** The connection was lost since the last time it listened: catch up once it listens again. */
  private missed = false;
  /** Announced this turn, to go out as one NOTIFY (work by kind: see WorkKind). */
  private outgoing = this.nothingOutgoing();
  private flushScheduled = false;

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly logger?: { warn(message: string): void },
  ) {
    this.channel = `stent_${schema}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  }

  publish(event: WakeEvent, carried = false): void {
    this.local.publish(event);
    if (this.closed || carried) return;
    // Events of one event-loop turn go out as one NOTIFY: a burst of dispatches or completions would
    // otherwise cost a round trip each here and a wake-up each in every other process.
    if (event.type === 'work') {
      if (event.of === undefined || event.of === 'executions') this.outgoing.executions = true;
      if (event.of === undefined || event.of === 'steps') this.outgoing.steps = true;
      if (event.of === 'flow') this.outgoing.flow = true;
    } else if (event.type === 'joined') {
      this.outgoing.joined = true;
    } else {
      this.outgoing[event.type].add(event.executionId);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private nothingOutgoing() {
    return { executions: false, steps: false, flow: false, joined: false, woken: new Set<string>(), finished: new Set<string>(), published: new Set<string>() };
  }

  finishedNotice(): { channel: string; head: string; tail: string } | undefined {
    return this.closed ? undefined : { channel: this.channel, head: `{"o":${JSON.stringify(this.origin)},"e":[`, tail: ']}' };
  }

  /** A NOTIFY's text: this bus's origin (so it ignores its own notices) and the events. */
  private payload(events: WakeEvent[]): string {
    return JSON.stringify({ o: this.origin, e: events });
  }

  private flush(): void {
    this.flushScheduled = false;
    const { executions, steps, flow, joined, woken, finished, published } = this.outgoing;
    this.outgoing = this.nothingOutgoing();
    const events: WakeEvent[] = [];
    if (executions && steps) events.push({ type: 'work' });
    else if (executions || steps) events.push({ type: 'work', of: executions ? 'executions' : 'steps' });
    // Steps announced as well cover steps with flow keys (a worker told of steps looks for both).
    if (flow && !steps) events.push({ type: 'work', of: 'flow' });
    if (joined) events.push({ type: 'joined' });
    for (const executionId of woken) events.push({ type: 'woken', executionId });
    for (const executionId of finished) events.push({ type: 'finished', executionId });
    for (const executionId of published) events.push({ type: 'published', executionId });
    // NOTIFY payloads are limited to 8000 bytes.
    for (let start = 0; start < events.length; start += 60) {
      this.pool.query('SELECT pg_notify($1, $2)', [this.channel, this.payload(events.slice(start, start + 60))]).catch(() => undefined);
    }
  }

  subscribe(listener: (event: WakeEvent) => void): () => void {
    const off = this.local.subscribe(listener);
    this.subscribers++;
    void this.ensureListening();
    return () => {
      off();
      this.subscribers--;
    };
  }

  /** The listening connection's backend pid (for tests and diagnostics). */
  listenerPid(): number | undefined {
    return (this.listener as unknown as { processID?: number } | undefined)?.processID;
  }

  private ensureListening(): Promise<void> {
    if (this.closed || this.listener) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const options = (this.pool as unknown as { options: ClientConfig }).options;
    const { default: pg } = await import('pg');
    // A host that drops packets must not leave the connect hanging forever.
    const client = new pg.Client({ ...options, connectionTimeoutMillis: options.connectionTimeoutMillis || 10_000 });
    // Listened to from the start: an 'error' without a listener would end the process.
    let failed: unknown;
    client.on('error', (error) => {
      failed ??= error;
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch (error) {
      await client.end().catch(() => undefined);
      this.scheduleReconnect(error);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    client.on('notification', (message) => {
      if (!message.payload) return;
      try {
        const { o, e } = JSON.parse(message.payload) as { o: string; e: WakeEvent[] };
        if (o !== this.origin) for (const event of e) this.local.publish(event);
      } catch {
        // not ours
      }
    });
    if (failed !== undefined) {
      await client.end().catch(() => undefined);
      this.scheduleReconnect(failed);
      return;
    }
    const lost = (error?: unknown) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (!this.closed) {
        // Anything announced while the listener was down is found by polling; wake everyone now to catch up.
        this.local.publish({ type: 'work' });
        this.scheduleReconnect(error);
      }
    };
    client.on('error', lost);
    client.on('end', () => lost());
    this.listener = client;
    this.reconnectPause = RECONNECT_FIRST_MS;
    if (this.missed) {
      this.missed = false;
      this.local.publish({ type: 'work' });
    }
  }

  private scheduleReconnect(error: unknown): void {
    this.missed = true;
    if (this.closed || this.retryTimer) return;
    const pause = this.reconnectPause;
    this.reconnectPause = Math.min(pause * 2, RECONNECT_MAX_MS);
    this.logger?.warn(`Stent: PostgreSQL notification listener lost (${error instanceof Error ? error.message : 'connection ended'}); reconnecting in ${pause} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.ensureListening();
    }, pause);
    this.retryTimer.unref?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connecting;
    const client = this.listener;
    this.listener = undefined;
    if (client) await client.end().catch(() => undefined);
  }
}
