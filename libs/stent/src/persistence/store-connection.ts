import { ConfigurationError, DatabaseUnavailableError, type Clock, type Timer } from '../core/index.js';
import type { DatabaseTarget, OpenConnection } from './database-target.js';
import { storeClosedError } from './store-closed.js';

export type { OpenConnection } from './database-target.js';

export interface StoreConnectionOptions {
  target: DatabaseTarget;
  connectTimeoutMs: number;
  clock: Clock;
  logger?: { warn(message: string): void };
  /** Told once the database answered (the deferred wake bus starts forwarding). */
  onOpen(connection: OpenConnection): void;
}

/**
 * The connection a store runs on, opened on first use: an operation made before the database answered
 * waits while connecting is tried again with back-off, for up to connectTimeout, and then fails with
 * DatabaseUnavailableError; the next operation tries again. So an application can start while its
 * database is down and begin working once it answers.
 */
export class StoreConnection {
  private current: OpenConnection | undefined;
  private attempt: Promise<OpenConnection> | undefined;
  private closed = false;
  private wakeSleeper: (() => void) | undefined;
  /** Why the last attempt to connect failed (cleared once connected). */
  lastError: unknown;
  private firstTried!: (connected: boolean) => void;
  private readonly firstTry = new Promise<boolean>((resolve) => (this.firstTried = resolve));

  constructor(private readonly options: StoreConnectionOptions) {}

  get open(): OpenConnection | undefined {
    return this.current;
  }

  /** Whether the very first attempt to connect succeeded (connecting now if nothing did yet). */
  firstAttempt(): Promise<boolean> {
    this.connect().catch(() => undefined);
    return this.firstTry;
  }

  /** The open connection, connecting first if needed (shared by every caller while it is under way). */
  connect(): Promise<OpenConnection> {
    if (this.current) return Promise.resolve(this.current);
    this.attempt ??= this.openNow().finally(() => {
      this.attempt = undefined;
    });
    return this.attempt;
  }

  private async openNow(): Promise<OpenConnection> {
    const { target, clock, connectTimeoutMs, logger } = this.options;
    if (this.closed) {
      this.firstTried(false);
      throw storeClosedError();
    }
    if (!target.isOpen) {
      const deadline = clock.now() + connectTimeoutMs;
      for (let attempt = 1, pause = 200; ; attempt++, pause = Math.min(pause * 2, 5_000)) {
        if (this.closed) throw new ConfigurationError('This Stent store was closed while it connected');
        try {
          // The last attempt, made at the deadline, still gets a moment to be refused or accepted.
          await openWithin(target, Math.max(deadline - clock.now(), 1_000), clock);
          break;
        } catch (error) {
          this.lastError = error;
          this.firstTried(false);
          // Trying again cannot fix a setting (a driver package that is not installed).
          if (error instanceof ConfigurationError) throw error;
          const remaining = deadline - clock.now();
          if (this.closed) throw new ConfigurationError('This Stent store was closed while it connected');
          if (remaining <= 0) {
            throw new DatabaseUnavailableError(`Stent could not connect to its database within ${connectTimeoutMs} ms (${attempt} attempt(s))`, { cause: error, attempts: attempt });
          }
          const wait = Math.min(pause, remaining);
          logger?.warn(`Stent: database unreachable (${error instanceof Error ? error.message : String(error)}); retrying in ${wait} ms`);
          await this.sleep(wait);
        }
      }
    }
    if (this.closed) {
      this.firstTried(false);
      await target.close().catch(() => undefined);
      throw new ConfigurationError('This Stent store was closed while it connected');
    }
    this.current = target.connection();
    this.lastError = undefined;
    this.firstTried(true);
    this.options.onOpen(this.current);
    return this.current;
  }

  /** A pause between attempts that close() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((done) => {
      let timer: Timer | undefined = undefined;
      const finish = () => {
        timer?.cancel();
        this.wakeSleeper = undefined;
        done();
      };
      this.wakeSleeper = finish;
      timer = this.options.clock.setTimer(ms, finish);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeSleeper?.();
    await this.attempt?.catch(() => undefined);
    const open = this.current;
    this.current = undefined;
    if (open) await open.bus.close();
    await this.options.target.close();
  }
}

/** One attempt to open, given up after `ms` (a late success is undone again: nobody waits for it). */
function openWithin(target: DatabaseTarget, ms: number, clock: Clock): Promise<void> {
  const attempt = target.open();
  return new Promise<void>((resolve, reject) => {
    const timer = clock.setTimer(ms, () => {
      void attempt.then(() => target.discardLateOpen()).catch(() => undefined);
      reject(new Error(`no answer within ${ms} ms`));
    });
    attempt.then(
      () => {
        timer.cancel();
        resolve();
      },
      (error: unknown) => {
        timer.cancel();
        reject(error);
      },
    );
  });
}
