import { afterEach, describe, expect, it } from 'vitest';
import {
  ActivityFailedError,
  DeadLetterNotFoundError,
  defineActivity,
  defineWorkflow,
  ExecutionFinishedError,
  ManualClock,
  setActivityMethodOptions,
  Stent,
  toJsonView,
} from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, rejectionOf } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

let billingFixed = false;

class Billing {
  async charge(amount: number): Promise<string> {
    return `charged ${amount}`;
  }
  async capture(orderId: string): Promise<string> {
    if (!billingFixed) throw new TypeError(`card processor rejected ${orderId}`);
    return `captured ${orderId}`;
  }
}
setActivityMethodOptions(Billing.prototype, 'charge', { retry: { maxAttempts: 4, initialDelay: '2s' }, timeout: '30s', maxConcurrent: 3, queue: 'payments', idempotent: true, version: 2 });
setActivityMethodOptions(Billing.prototype, 'capture', { retry: { maxAttempts: 2, initialDelay: 10, jitter: false } });
defineActivity(Billing, { tags: ['pci'] });

class LineItem {
  constructor(private readonly billing: Billing) {}
  async run(amount: number): Promise<string> {
    return this.billing.charge(amount);
  }
}
defineWorkflow(LineItem, { maxDuration: '1h', tags: ['orders'] });

class Order {
  constructor(
    private readonly billing: Billing,
    private readonly line: LineItem,
  ) {}
  async run(orderId: string, amounts: number[]): Promise<string> {
    Stent.setProgress({ step: 'lines', of: amounts.length });
    for (const amount of amounts) {
      await this.line.run(amount);
      Stent.incrementCounter('lines');
    }
    Stent.setState('phase', 'capture');
    return this.billing.capture(orderId);
  }
}
defineWorkflow(Order, { queue: 'default', priority: 5, tags: ['orders'] });

describe.each(DIALECTS)('the operations layer on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    billingFixed = false;
    await set?.dispose();
    set = undefined;
  });

  async function world() {
    set = await ExecutorSet.create(dialect);
    const billing = new Billing();
    const line = new LineItem(billing);
    const executor = await set.executor([billing, line, new Order(billing, line)], { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', lease: '10s', queues: ['default', 'payments'], tags: ['pci', 'orders'] });
    return { executor, reader: await set.executor([], false) };
  }

  it('getExecution tells an operator everything: error with stack, progress, counters, state, parent, children, timings, attempts', async () => {
    const { executor, reader } = await world();
    const id = await executor.dispatch(Order, ['o-1', [10, 20, 30]]);
    expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('failed');

    const detail = await reader.getExecution(id);
    expect(detail).toMatchObject({ id, workflowName: 'Order', state: 'failed', args: ['o-1', [10, 20, 30]], priority: 5, tags: ['orders'], parentId: null, parent: null });
    expect(detail.error).toBeInstanceOf(ActivityFailedError);
    expect(detail.error!.stack).toContain('ActivityFailedError');
    expect((detail.error!.cause as Error).message).toBe('card processor rejected o-1');
    expect(detail.result?.ok).toBe(false);
    expect(detail.progress).toEqual({ step: 'lines', of: 3 });
    expect(detail.counters).toEqual({ lines: 3 });
    expect(detail.customState).toEqual({ phase: 'capture' });
    expect(detail.childCount).toBe(3);
    expect(detail.childStates).toEqual({ completed: 3 });
    expect(detail.children.map((child) => [child.workflowName, child.state])).toEqual([
      ['LineItem', 'completed'],
      ['LineItem', 'completed'],
      ['LineItem', 'completed'],
    ]);
    expect(detail.timings.totalMs).toBeGreaterThanOrEqual(detail.timings.runMs!);
    expect(detail.timings.queuedMs).toBeGreaterThanOrEqual(0);
    expect(detail.finishedAt).toBeInstanceOf(Date);
    // Three child calls, the capture activity (2 attempts) and the recorded progress/counter/state values.
    expect(detail.attempts).toMatchObject({ failedSteps: 1, recoveries: 0 });
    expect(detail.attempts.stepsByKind).toMatchObject({ child: 3, activity: 1 });
    expect(detail.attempts.stepAttempts).toBeGreaterThanOrEqual(2);

    const child = await reader.getExecution(detail.children[0]!.id);
    expect(child).toMatchObject({ state: 'completed', output: 'charged 10', error: null, parentId: id, childCount: 0 });
    expect(child.parent).toMatchObject({ id, workflowName: 'Order', state: 'failed' });
    expect(child.deadlineAt).toBeInstanceOf(Date);
    expect((await reader.listExecutions({ parentId: id })).total).toBe(3);

    // The JSON view: dates as ISO strings, errors as {name, message, code, stack}, no undefined.
    const json = toJsonView(detail) as Record<string, any>;
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.createdAt).toBe(detail.createdAt.toISOString());
    expect(json.error).toMatchObject({ name: 'ActivityFailedError', code: 'STENT_ACTIVITY_FAILED', category: 'outcome', stack: expect.stringContaining('ActivityFailedError') });
    expect(json.error.cause).toMatchObject({ name: 'TypeError', message: 'card processor rejected o-1' });
    expect(json.result).toMatchObject({ ok: false, state: 'failed', error: { code: 'STENT_ACTIVITY_FAILED' } });
    expect(json.children[0].createdAt).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    expect('output' in json).toBe(false);
  });

  it('dead letters: one by id with its execution, bulk replay of chosen ids and of all, per-id outcomes', async () => {
    const { executor, reader } = await world();
    const ids = [await executor.dispatch(Order, ['a', [1]]), await executor.dispatch(Order, ['b', [2]]), await executor.dispatch(Order, ['c', [3]])];
    for (const id of ids) expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('failed');
    const { items, total } = await reader.listDeadLetters();
    expect(total).toBe(3);
    const byExecution = new Map(items.map((item) => [item.executionId, item.id]));
    expect((await reader.listDeadLetters({ executionId: ids[1] })).items.map((item) => item.id)).toEqual([byExecution.get(ids[1])]);
    expect((await reader.listDeadLetters({ name: 'Billing.capture', limit: 2 })).items).toHaveLength(2);

    const letter = await reader.getDeadLetter(byExecution.get(ids[0])!);
    expect(letter).toMatchObject({ executionId: ids[0], name: 'Billing.capture', kind: 'activity', workflowName: 'Order', executionState: 'failed', args: ['a'] });
    expect(letter.error).toBeInstanceOf(TypeError);
    expect(letter.createdAt).toBeInstanceOf(Date);
    expect(await rejectionOf(reader.getDeadLetter('nope'))).toBeInstanceOf(DeadLetterNotFoundError);

    billingFixed = true;
    const some = await reader.dlq.replayMany([byExecution.get(ids[0])!, 'nope']);
    expect(some.replayed).toEqual([{ id: byExecution.get(ids[0]), executionId: ids[0] }]);
    expect(some.failed).toHaveLength(1);
    expect(some.failed[0]).toMatchObject({ id: 'nope', error: { code: 'STENT_DEAD_LETTER_NOT_FOUND' } });
    expect((await executor.waitFor(ids[0]!, { timeout: '30s' })).state).toBe('completed');

    const rest = await reader.dlq.replayAll();
    expect(new Set(rest.replayed.map((item) => item.executionId))).toEqual(new Set([ids[1], ids[2]]));
    expect(rest.failed).toEqual([]);
    for (const id of ids) expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('completed');
    expect((await reader.listDeadLetters()).total).toBe(0);
    expect(await reader.dlq.replayAll()).toEqual({ replayed: [], failed: [] });
    await expect(reader.dlq.replayMany([])).rejects.toMatchObject({ code: 'STENT_INVALID_FILTER' });
    await expect(reader.retry(ids[0]!)).rejects.toBeInstanceOf(ExecutionFinishedError);
  });

  it('listWorkers: what each serves, live, stopped and lost ones', async () => {
    const { executor, reader } = await world();
    const stopped = await set!.executor([], { queues: ['reports'], lease: '10s' });
    const stoppedId = stopped.worker!.ownerId;
    await stopped.close();
    const workers = await reader.listWorkers();
    const me = workers.find((worker) => worker.id === executor.worker!.ownerId);
    expect(me).toMatchObject({
      status: 'live',
      state: 'running',
      pid: process.pid,
      queues: ['default', 'payments'],
      tags: ['pci', 'orders'],
      concurrency: 4,
      leaseMs: 10_000,
    });
    expect(new Set(me!.workflows)).toEqual(new Set(['LineItem', 'Order']));
    expect(new Set(me!.activities)).toEqual(new Set(['Billing.charge', 'Billing.capture']));
    expect(me!.heartbeatAt).toBeInstanceOf(Date);
    expect(workers.find((worker) => worker.id === stoppedId)).toMatchObject({ status: 'stopped', state: 'stopped', queues: ['reports'] });
    // A process without the workflow code dispatches by name what a live worker runs, with that worker's defaults.
    const codeless = await set!.executor([], false, false);
    await expect(codeless.dispatch('Order', ['z', []])).rejects.toMatchObject({ code: 'STENT_UNKNOWN_WORKFLOW' });
    const { createStentStore, StentExecutor } = await import('nestjs-stent');
    const fromWorkers = new StentExecutor({ store: await createStentStore({ database: set!.db.options }), worker: false, workflowsFromWorkers: true });
    set!.onCleanup(() => fromWorkers.close());
    const routed = await fromWorkers.dispatch('Order', ['z', []]);
    expect(await fromWorkers.getExecution(routed)).toMatchObject({ workflowName: 'Order', priority: 5, tags: ['orders'], queue: 'default' });
    await expect(fromWorkers.dispatch('Reports', [])).rejects.toMatchObject({ code: 'STENT_UNKNOWN_WORKFLOW' });
    expect(me!.workflowRoutes).toMatchObject({ Order: { queue: 'default', priority: 5, tags: ['orders'], maxDurationMs: null }, LineItem: { maxDurationMs: 3_600_000 } });
    // Seen from a clock a minute later, the running worker has been silent for longer than its lease: lost.
    const later = await set!.executor([], false, false, new ManualClock(Date.now() + 60_000));
    const seenLater = await later.listWorkers();
    expect(seenLater.find((worker) => worker.id === executor.worker!.ownerId)).toMatchObject({ status: 'lost' });
    // Workers not heard from within `recent` are left out.
    const muchLater = await set!.executor([], false, false, new ManualClock(Date.now() + 3 * 3_600_000));
    expect(await muchLater.listWorkers()).toEqual([]);
    expect((await muchLater.listWorkers({ recent: '4h' })).length).toBeGreaterThanOrEqual(2);
  });

  it('stats: per-queue backlog and its age, throughput per minute; listDefinitions: options of every workflow and activity', async () => {
    set = await ExecutorSet.create(dialect);
    const billing = new Billing();
    const line = new LineItem(billing);
    billingFixed = true;
    const executor = await set.executor([billing, line, new Order(billing, line)], { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', lease: '10s', queues: ['default', 'payments'], tags: ['pci', 'orders'] });
    const done = await executor.dispatch(Order, ['d', [1, 2]]);
    expect((await executor.waitFor(done, { timeout: '30s' })).state).toBe('completed');
    // Work on a queue nobody serves waits and ages.
    await executor.dispatch(LineItem, [5], { queue: 'nightly' });
    await executor.dispatch(LineItem, [6], { queue: 'nightly' });
    const stats = await waitUntil(async () => {
      const s = await executor.stats({ throughputMinutes: 5 });
      return (s.queues.find((queue) => queue.queue === 'nightly')?.oldestDueAgeMs ?? 0) >= 20 ? s : undefined;
    }, 'the nightly backlog to age');
    expect(stats.queues.find((queue) => queue.queue === 'nightly')).toMatchObject({ due: 2, dueExecutions: 2, dueActivities: 0, runningActivities: 0 });
    expect(stats.throughput.minutes).toBe(5);
    expect(stats.throughput.perMinute).toHaveLength(5);
    const sum = (pick: (m: (typeof stats.throughput.perMinute)[number]) => number) => stats.throughput.perMinute.reduce((total, m) => total + pick(m), 0);
    // Two charges and the capture; the order and its two line items.
    expect(sum((m) => m.stepsCompleted)).toBe(3);
    expect(sum((m) => m.executionsCompleted)).toBe(3);
    expect(sum((m) => m.executionsFailed)).toBe(0);
    expect(stats.throughput.perMinute.at(-1)!.minute.getTime()).toBe(Math.floor(Date.now() / 60_000) * 60_000);
    await expect(executor.stats({ throughputMinutes: 0 })).rejects.toMatchObject({ code: 'STENT_INVALID_FILTER' });

    const definitions = executor.listDefinitions();
    expect(definitions.workflows).toEqual([
      { name: 'LineItem', className: 'LineItem', queue: 'default', priority: null, tags: ['orders'], maxDurationMs: 3_600_000, concurrency: null, rateLimit: null },
      { name: 'Order', className: 'Order', queue: 'default', priority: 5, tags: ['orders'], maxDurationMs: null, concurrency: null, rateLimit: null },
    ]);
    expect(definitions.activities.find((activity) => activity.name === 'Billing.charge')).toMatchObject({
      className: 'Billing',
      methodName: 'charge',
      queue: 'payments',
      tags: ['pci'],
      timeoutMs: 30_000,
      maxConcurrent: 3,
      retry: { maxAttempts: 4, initialDelayMs: 2_000 },
      cache: { ttlMs: null, version: '2', customKey: false },
    });
    expect(definitions.activities.find((activity) => activity.name === 'Billing.capture')).toMatchObject({ retry: { maxAttempts: 2, initialDelayMs: 10, jitter: 0 }, cache: null, queue: 'default' });
    expect(toJsonView(definitions)).toEqual(JSON.parse(JSON.stringify(definitions)));
  });
});
