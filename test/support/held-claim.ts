import { createStentStore, ManualClock, StentExecutor, type StentStore } from 'nestjs-stent';
import type { ExecutorSet } from './executor-set.js';
import { overrideStore } from './store-proxy.js';
import { waitUntil } from './wait.js';

/** A store whose claims of steps can be held open after their query (see holdOneClaim). */
export interface HeldClaim {
  store: StentStore;
  /** Holds the next claim of steps (not a claim of a suspect; with `taking`, one that took steps); resolves with how many it took once it is held. */
  arm(): Promise<number>;
  /** Lets the held claim answer, with what it took. */
  release(): void;
}

/**
 * `store`, whose first claim of steps after `arm()` answers only once released: what it read is already
 * decided (and, for the steps it took, committed), so a test can act while a worker's claim is on its way.
 * `taking`: hold only a claim that took at least one step.
 */
export function holdOneClaim(store: StentStore, options: { taking?: boolean } = {}): HeldClaim {
  let armed = false;
  let entered!: (taken: number) => void;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const held = new Promise<number>((resolve) => (entered = resolve));
  const proxy = overrideStore(store, {
    async claimSteps(...args: Parameters<StentStore['claimSteps']>) {
      const steps = await store.claimSteps(...args);
      if (armed && !args[0].suspect && (!options.taking || steps.length > 0)) {
        armed = false;
        entered(steps.length);
        await released;
      }
      return steps;
    },
  });
  return {
    store: proxy,
    arm: () => {
      armed = true;
      return held;
    },
    release,
  };
}

/**
 * A started executor of `concurrency` slots on the test's database whose next claim of steps can be held
 * (holdOneClaim, `taking`), on a clock that stands still: no poll comes, only announcements and finished
 * attempts start claim rounds. Resolves once its start-up claim round has ended.
 */
export async function standingWorkerWithHeldClaim(set: ExecutorSet, instances: object[], concurrency: number): Promise<{ executor: StentExecutor; claims: HeldClaim }> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const claims = holdOneClaim(await createStentStore({ database: set.db.options }), { taking: true });
  const executor = new StentExecutor({ store: claims.store, worker: { concurrency, lease: '1d' }, logger: set.logger, clock });
  set.onCleanup(() => executor.close('2s'));
  executor.register(...instances);
  await executor.start();
  const { loop } = executor.worker!;
  await waitUntil(() => !loop.busy, 'the start-up claim round to end');
  return { executor, claims };
}
