import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, ManualClock, StentExecutor, type StentStore } from 'nestjs-stent';
import { faultInstances, SeqFlow } from '../fixtures/fault-flows.js';
import { ExecutorSet } from '../support/executor-set.js';
import { nudgeUntil } from '../support/manual-time.js';
import { killAllProcesses, WorkerProcess } from '../support/worker-process.js';

/**
 * No wake event crosses processes on SQLite: a worker found another process's dispatch only at its next
 * poll, which backs off to maxPollInterval (1 s by default) while nothing comes. Between polls a worker
 * now reads the file's data version (PRAGMA data_version) every 25 ms on its clock, and a commit by
 * another connection brings the poll forward. The workers here poll once an hour, so only that read can
 * find the work.
 */
const HOURLY_POLLS = { concurrency: 2, pollInterval: '1h', maxPollInterval: '1h', lease: '1d' } as const;

describe('a SQLite worker hears of other processes through the file', () => {
  let set: ExecutorSet | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await set?.dispose();
    set = undefined;
  });

  /** Dispatches one single-step SeqFlow from a process of its own (worker: false) and returns its id. */
  async function dispatchFromAnotherProcess(url: string): Promise<string> {
    const dispatcher = await WorkerProcess.start({ url, worker: false, fixture: 'fault-flows.js', instances: 'faultInstances', dispatch: [{ workflow: SeqFlow.name, args: [[0]] }] });
    const [id] = await dispatcher.dispatchedIds();
    return id!;
  }

  it('a worker whose next poll is an hour away runs an execution another process dispatched', { timeout: 120_000 }, async () => {
    set = await ExecutorSet.create('sqlite');
    const worker = await set.executor(faultInstances(), HOURLY_POLLS);
    const id = await dispatchFromAnotherProcess(set.db.url);
    const outcome = await worker.waitFor<string[]>(id, { timeout: '60s' });
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    expect(outcome.ok && outcome.value).toHaveLength(1);
  });

  it('the read goes by the engine clock: 25 ms of it, far short of a poll, are enough', { timeout: 120_000 }, async () => {
    set = await ExecutorSet.create('sqlite');
    // A minute ahead of the dispatching process's clock, which stamps the execution due at its own now.
    const clock = new ManualClock(Date.now() + 60_000);
    const worker = await set.executor(faultInstances(), HOURLY_POLLS, true, clock);
    const id = await dispatchFromAnotherProcess(set.db.url);
    const startedAt = clock.now();
    await nudgeUntil(clock, async () => (await worker.getExecution(id))?.state === 'completed', `execution ${id} to complete`, 25);
    // Each nudge is 25 ms of the worker's clock: the run came long before its next poll.
    expect(clock.now() - startedAt).toBeLessThan(60 * 60_000);
  });

  describe('HotPathStore.writesElsewhere', () => {
    const executors: StentExecutor[] = [];
    afterEach(async () => {
      for (const executor of executors.splice(0)) await executor.close('2s');
    });

    /** A dispatch-only executor on `store` (closing it closes the store). */
    async function dispatcherOn(store: StentStore): Promise<StentExecutor> {
      const executor = new StentExecutor({ store, worker: false });
      executors.push(executor);
      executor.register(...faultInstances());
      await executor.start();
      return executor;
    }

    it.each(['sqlite', 'sqlite3'] as const)("on SQLite (%s), changes with another connection's commits only", async (backend) => {
      set = await ExecutorSet.create(backend);
      const mine = await createStentStore({ database: set.db.options });
      const other = await createStentStore({ database: set.db.options });
      const here = await dispatcherOn(mine);
      const there = await dispatcherOn(other);
      expect(mine.writesElsewhere).toBeTypeOf('function');

      const first = await mine.writesElsewhere!();
      await here.dispatch(SeqFlow, [[0]]);
      expect(await mine.writesElsewhere!(), "the store's own commit").toBe(first);
      await there.dispatch(SeqFlow, [[0]]);
      const second = await mine.writesElsewhere!();
      expect(second, "another connection's commit").not.toBe(first);
      expect(await mine.writesElsewhere!(), 'nothing since the last read').toBe(second);
    });

    it('on PostgreSQL there is none: NOTIFY reaches every process', async () => {
      set = await ExecutorSet.create('postgres');
      const store = await createStentStore({ database: set.db.options });
      await dispatcherOn(store);
      expect(store.writesElsewhere).toBeUndefined();
    });
  });
});
