import type { Clock } from '../clock/clock.js';
import { CoalescedLoop } from '../clock/coalesced-loop.js';
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
  private readonly loop: CoalescedLoop;
  private unsubscribe: (() => void) | undefined;
  /** Whether the last look saw executions waiting for a turn (unknown at first). */
  private waiting = true;

  constructor(
    private readonly store: DispatchKeyStore & { subscribe(listener: (event: WakeEvent) => void): () => void },
    clock: Clock,
    private readonly logger: StentLogger,
  ) {
    this.loop = new CoalescedLoop(
      clock,
      CHECK_MS,
      async () => {
        this.waiting = (await this.store.releaseSingletons(clock.now())).waiting;
      },
      (error) => this.logger.warn(`Stent singletons: could not hand a key's turn on (${error instanceof Error ? error.message : String(error)}); trying again`),
    );
  }

  start(): void {
    if (this.loop.stopped || this.unsubscribe) return;
    this.unsubscribe = this.store.subscribe((event) => {
      if (event.type === 'finished' && this.waiting) this.loop.run();
    });
    this.loop.start();
  }

  /** Some execution may wait for a turn now: look when executions finish, until a look finds none. */
  expectWaiters(): void {
    this.waiting = true;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.loop.stop();
  }
}
