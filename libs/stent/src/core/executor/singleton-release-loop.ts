import type { Clock } from '../clock/clock.js';
import { CoalescedLoop } from '../clock/coalesced-loop.js';
import type { StentLogger } from '../logger.js';
import type { DispatchKeyStore, WakeEvent } from '../store/index.js';

/** How often a worker looks for singleton keys whose execution ended (besides when it hears one finish). */
const CHECK_MS = 500;

/**
 * Hands the turn of a singleton key to its next queued execution once the one going on has ended: every
 * worker looks periodically and when it hears an execution finish; the store decides under the key's
 * lock, so however many look, one execution of a key goes on at a time.
 */
export class SingletonReleaseLoop {
  private readonly loop: CoalescedLoop;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: DispatchKeyStore & { subscribe(listener: (event: WakeEvent) => void): () => void },
    clock: Clock,
    private readonly logger: StentLogger,
  ) {
    this.loop = new CoalescedLoop(clock, CHECK_MS, () => this.store.releaseSingletons(clock.now()), (error) =>
      this.logger.warn(`Stent singletons: could not hand a key's turn on (${error instanceof Error ? error.message : String(error)}); trying again`),
    );
  }

  start(): void {
    if (this.loop.stopped || this.unsubscribe) return;
    this.unsubscribe = this.store.subscribe((event) => {
      if (event.type === 'finished') this.loop.run();
    });
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.loop.stop();
  }
}
