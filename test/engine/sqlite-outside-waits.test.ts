import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { OutsideChanges } from 'nestjs-stent/internal';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { nudgeUntil } from '../support/manual-time.js';
import { waitUntil, within } from '../support/wait.js';
import { killAllProcesses, WorkerProcess } from '../support/worker-process.js';
import { streamFlowInstances, TokenStream } from '../fixtures/stream-flows.js';

/**
 * No wake event crosses processes on SQLite: a waitFor, getEvent or stream reader in a process that does
 * not run the execution learned of its end, or of what it published, only at its own poll (250 ms by
 * default). Waits here poll once an hour, so only the look at the file (OutsideChanges: the data version
 * read every 25 ms of the executor's clock while something waits) can bring the news in time.
 */
const HOURLY = { pollInterval: '1h' } as const;
const WORKER: WorkerOptions = { concurrency: 4, pollInterval: '50ms', maxPollInterval: '200ms' };
/** Far longer than the news takes, far shorter than a poll. */
const DEADLINE_MS = 30_000;
const LATE = 'nothing before the deadline (it would come at the hourly poll)';

describe('waits in a process that runs nothing hear of a worker process through the SQLite file', () => {
  let set: ExecutorSet | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await set?.dispose();
    set = undefined;
  });

  /** An executor without a worker here, and a worker process on the same file. */
  async function apiAndWorker(clock?: ManualClock): Promise<StentExecutor> {
    set = await ExecutorSet.create('sqlite');
    const api = await set.executor([], false, true, clock);
    await WorkerProcess.start({ url: set.db.url, worker: WORKER, fixture: 'stream-flows.js', instances: 'streamFlowInstances' });
    return api;
  }

  it('waitFor returns the results of executions another process ran, long before its poll', { timeout: 120_000 }, async () => {
    const api = await apiAndWorker();
    const ids = await Promise.all([2, 3, 4].map((count) => api.dispatch(TokenStream, [count, 5])));
    const outcomes = await within(Promise.all(ids.map((id) => api.waitFor(id, HOURLY))), DEADLINE_MS, `waitFor: ${LATE}`);
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.value : outcome))).toEqual([2, 3, 4]);
  });

  it('getEvent and readStream see what another process published, long before their polls', { timeout: 120_000 }, async () => {
    const api = await apiAndWorker();
    // A token every 200 ms: the reads below begin before the values they wait for are written.
    const id = await api.dispatch(TokenStream, [4, 200]);
    expect(await within(api.getEvent<number>(id, 'written', HOURLY), DEADLINE_MS, `getEvent: ${LATE}`)).toBeGreaterThanOrEqual(1);
    const read = async () => {
      const texts: string[] = [];
      for await (const chunk of api.readStream<{ text: string }>(id, 'tokens', HOURLY)) texts.push(chunk.value.text);
      return texts;
    };
    expect(await within(read(), DEADLINE_MS, `readStream: ${LATE}`)).toEqual(['token-0', 'token-1', 'token-2', 'token-3']);
  });

  it('the look goes by the executor clock: 25 ms of it at a time, far short of a poll, are enough', { timeout: 120_000 }, async () => {
    const clock = new ManualClock(Date.now());
    const api = await apiAndWorker(clock);
    const id = await api.dispatch(TokenStream, [1, 0]);
    let outcome: unknown;
    const startedAt = clock.now();
    void api.waitFor<number>(id, { pollInterval: '1h' }).then((result) => (outcome = result));
    await nudgeUntil(clock, () => outcome, `waitFor(${id})`, 25, 60_000);
    expect(outcome).toMatchObject({ ok: true, value: 1 });
    expect(clock.now() - startedAt).toBeLessThan(60 * 60_000);
  });
});

describe('OutsideChanges', () => {
  /** Reads whose mark never moves, and an execution already final: as if it ended between a wait's read and its registration. */
  function endedBeforeRegistration() {
    const looked: string[][] = [];
    const reads = {
      mark: async () => 7,
      finalAmong: async (ids: string[]) => {
        looked.push(ids);
        return ids.filter((id) => id === 'ended');
      },
    };
    return { reads, looked };
  }

  it('looks once at an execution registered since the last reading, though the mark did not move', async () => {
    const clock = new ManualClock(0);
    const { reads, looked } = endedBeforeRegistration();
    const outside = new OutsideChanges(clock, reads);
    let woken = 0;
    const stopRunning = outside.awaitEnd('running', () => woken--);
    await nudgeUntil(clock, () => looked.length >= 1, 'the first look', 25);
    const stopEnded = outside.awaitEnd('ended', () => woken++);
    await nudgeUntil(clock, () => woken === 1 || undefined, 'the ended execution to be woken', 25);
    // Later readings (the same mark) look at nothing: each registered execution was looked at once.
    const looks = looked.length;
    for (let i = 0; i < 4; i++) {
      clock.advance(25);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(looked.slice(looks)).toEqual([]);
    expect(looked).toEqual([['running'], ['ended']]);
    stopRunning();
    stopEnded();
    outside.stop();
  });

  it('looks at every awaited execution when the mark moves, and reads nothing once no wait is left', async () => {
    const clock = new ManualClock(0);
    let mark = 1;
    const looked: string[][] = [];
    let marks = 0;
    const outside = new OutsideChanges(clock, {
      mark: async () => (marks++, mark),
      finalAmong: async (ids) => (looked.push(ids), []),
    });
    const stops = ['a', 'b'].map((id) => outside.awaitEnd(id, () => undefined));
    await nudgeUntil(clock, () => looked.length >= 1, 'the first look', 25);
    mark = 2;
    await nudgeUntil(clock, () => looked.length >= 2, 'the look after the change', 25);
    expect(looked[1]).toEqual(['a', 'b']);
    for (const stop of stops) stop();
    const before = marks;
    for (let i = 0; i < 4; i++) {
      clock.advance(25);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // At most the reading already scheduled when the last wait went.
    expect(marks - before).toBeLessThanOrEqual(1);
    outside.stop();
  });
});

describe.each(DIALECTS)('ControlStore.finalAmong (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('names the executions among the ids that are final, and nothing for unknown ids', async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor(streamFlowInstances(), WORKER);
    const completed = await executor.dispatch(TokenStream, [0, 0]);
    expect((await executor.waitFor(completed, { timeout: '30s' })).state).toBe('completed');
    const cancelled = await executor.dispatch(TokenStream, [1, 0]);
    await executor.cancel(cancelled);
    // Its one token takes a minute: running while it is asked about.
    const running = await executor.dispatch(TokenStream, [1, 60_000]);
    await waitUntil(async () => (await executor.getExecution(running))?.state === 'running', 'the slow execution to run');
    const found = await executor.store.finalAmong([completed, cancelled, running, 'no-such-id']);
    expect(found.sort()).toEqual([completed, cancelled].sort());
    expect(await executor.store.finalAmong([running])).toEqual([]);
    expect(await executor.store.finalAmong([])).toEqual([]);
  });
});
