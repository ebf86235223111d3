import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, setActivityMethodOptions, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, Gate } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

class Chores {
  constructor(readonly gate: Gate) {}
  async tidy(): Promise<string> {
    return 'tidy';
  }
  async hold(): Promise<string> {
    await this.gate.wait();
    return 'held';
  }
  async breakDown(): Promise<never> {
    throw new Error('broken for good');
  }
  async backOff(): Promise<string> {
    if (Stent.activity().attempt === 1) throw new Error('try again in an hour');
    return 'backed off';
  }
}
setActivityMethodOptions(Chores.prototype, 'breakDown', { retry: { maxAttempts: 1 } });
setActivityMethodOptions(Chores.prototype, 'backOff', { retry: { maxAttempts: 2, initialDelay: '1h', jitter: false } });
defineActivity(Chores);

class ChoreFlow {
  constructor(private readonly chores: Chores) {}
  async run(which: 'tidy' | 'hold' | 'breakDown' | 'backOff'): Promise<string> {
    return this.chores[which]();
  }
}
defineWorkflow(ChoreFlow);

describe.each(DIALECTS)('stats on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('counts executions by state, the activity backlog, dead letters and workers of everyone on the database', async () => {
    set = await ExecutorSet.create(dialect);
    const gate = new Gate();
    set.onCleanup(() => gate.open());
    const chores = new Chores(gate);
    const executor = await set.executor([chores, new ChoreFlow(chores)]);
    const client = await set.executor([], false);

    const tidy = await executor.dispatch(ChoreFlow, ['tidy']);
    const broken = await executor.dispatch(ChoreFlow, ['breakDown']);
    expect((await executor.waitFor(tidy, { timeout: '20s' })).state).toBe('completed');
    expect((await executor.waitFor(broken, { timeout: '20s' })).state).toBe('failed');
    const held = await executor.dispatch(ChoreFlow, ['hold']);
    const backOff = await executor.dispatch(ChoreFlow, ['backOff']);
    const unserved = await executor.dispatch(ChoreFlow, ['tidy'], { queue: 'nobody-serves-this' });
    await waitUntil(() => gate.entered === 1, 'the held activity to run');
    await waitUntil(async () => (await executor.getJournal(backOff))[0]?.attempts === 1, 'the first attempt to fail');

    const stats = await waitUntil(async () => {
      const s = await client.stats();
      return s.activities.scheduled === 1 && s.activities.running === 1 && s.backlogAgeMs >= 50 ? s : undefined;
    }, 'the backlog to age');
    expect(stats.executions).toEqual({ pending: 1, running: 2, completed: 1, failed: 1, cancelled: 0, timed_out: 0 });
    expect(stats.activities).toEqual({ due: 0, scheduled: 1, running: 1 });
    expect(stats.deadLetters).toBe(1);
    // The oldest due work is the execution nobody serves, waiting since it was dispatched.
    const dispatchedAt = (await client.getExecution(unserved)).createdAt.getTime();
    expect(stats.backlogAgeMs).toBeGreaterThanOrEqual(Date.now() - dispatchedAt - 1_000);
    const me = stats.workers.find((w) => w.id === executor.worker!.ownerId);
    expect(me).toMatchObject({ pid: process.pid, queues: ['default'], state: 'running' });
    expect(me!.heartbeatAt).toBeInstanceOf(Date);
    expect(me!.lastSeenMsAgo).toBeLessThan(30_000);
    expect(stats.thisWorker).toBeNull();

    const own = await executor.stats();
    expect(own.thisWorker).toMatchObject({ id: executor.worker!.ownerId, readiness: 'ready', runningActivities: 1, concurrency: 8 });
    expect(held).toEqual(expect.any(String));
  });
});
