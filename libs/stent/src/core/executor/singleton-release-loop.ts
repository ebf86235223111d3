import { repeatOn, type Clock, type Timer } from '../clock/clock.js';
import type { StentLogger } from '../logger.js';
import type { DispatchKeyStore, WakeEvent } from '../store/index.js';

/** How often a worker looks for singleton keys whose execution ended (besides when it hears one finish). */
const CHECK_MS = 500;

/**
 * Hands the turn of a singleton key to its next queued execution once the one going on has ended: every
 * worker looks periodically and, while some execution waits for a turn, when it hears an execution
 * finish; the store decides under the key's lock, so however many look, one execution of a key goes on at
 * a time. Applications that use no singleton keys pay no statement per finished execution.
 */
export class SingletonReleaseLoop {
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Whether the last look saw executions waiting for a turn (unknown at first). */
  private waiting = true;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: DispatchKeyStore & { subscribe(listener: (event: WakeEvent) => void): () => void },
    private readonly clock: Clock,
    private readonly logger: StentLogger,
  ) {}

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = repeatOn(this.clock, CHECK_MS, () => this.check());
    this.timer.unref();
    this.unsubscribe = this.store.subscribe((event) => {
      if (event.type === 'finished' && this.waiting) this.check();
    });
    this.check();
  }

  /** Some execution may wait for a turn now: look when executions finish, until a look finds none. */
  expectWaiters(): void {
    this.waiting = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.unsubscribe?.();
    await this.running;
  }

  private check(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.store
      .releaseSingletons(this.clock.now())
      .then((outcome) => {
        this.waiting = outcome.waiting;
      })
      .catch((error: unknown) => this.logger.warn(`Stent singletons: could not hand a key's turn on (${error instanceof Error ? error.message : String(error)}); trying again`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.check();
        }
      });
  }
}
