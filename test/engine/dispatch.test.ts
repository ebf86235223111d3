import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  defineActivity,
  defineWorkflow,
  ExecutionNotFoundError,
  InvalidDurationError,
  registerErrorClass,
  Result,
  SerializationError,
  UnknownWorkflowError,
  WaitTimeoutError,
  type StentExecutor,
} from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { errorOf, Gate, ExecutorSet } from '../support/executor-set.js';

// ---- workflows and activities under test ------------------------------------------------------

class MathActs {
  calls = 0;
  stamps: number[] = [];
  async add(a: number, b: number): Promise<number> {
    this.calls++;
    return a + b;
  }
  async stamp(): Promise<number> {
    const now = Date.now();
    this.stamps.push(now);
    return now;
  }
}
defineActivity(MathActs, { retry: { maxAttempts: 1 } });

class HoldActs {
  constructor(private readonly gate: Gate<string>) {}
  async hold(): Promise<string> {
    return this.gate.wait();
  }
}
defineActivity(HoldActs, { retry: { maxAttempts: 1 } });

class AddFlow {
  constructor(private readonly acts: MathActs) {}
  async run(n: number): Promise<number> {
    return this.acts.add(n, 1);
  }
}
defineWorkflow(AddFlow);

class OtherFlow {
  async run(): Promise<string> {
    return 'other';
  }
}
defineWorkflow(OtherFlow);

class StampFlow {
  constructor(private readonly acts: MathActs) {}
  async run(): Promise<number> {
    return this.acts.stamp();
  }
}
defineWorkflow(StampFlow);

class HoldFlow {
  constructor(private readonly acts: HoldActs) {}
  async run(): Promise<string> {
    return this.acts.hold();
  }
}
defineWorkflow(HoldFlow);

class OutOfStockFlow {
  constructor(private readonly acts: MathActs) {}
  async run(sku: string): Promise<Result<number, { reason: string; sku: string }>> {
    await this.acts.add(1, 1);
    return Result.error({ reason: 'out of stock', sku });
  }
}
defineWorkflow(OutOfStockFlow);

class OrderRejectedError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'OrderRejectedError';
  }
}
registerErrorClass(OrderRejectedError);

class ThrowingFlow {
  constructor(private readonly acts: MathActs) {}
  async run(orderId: string): Promise<number> {
    await this.acts.add(1, 2);
    throw new OrderRejectedError(`order ${orderId} rejected`, 'R42');
  }
}
defineWorkflow(ThrowingFlow);

class NotAWorkflow {
  async run(): Promise<void> {}
}

// ---- tests ------------------------------------------------------------------------------------

describe.each(BACKENDS)('dispatch, waitFor and queries on %s', (backend) => {
  let h: ExecutorSet;
  let acts: MathActs;
  let gate: Gate<string>;
  let ex: StentExecutor;

  beforeEach(async () => {
    h = await ExecutorSet.create(backend);
    acts = new MathActs();
    gate = new Gate<string>();
    h.onCleanup(() => gate.open('released at cleanup'));
    const holdActs = new HoldActs(gate);
    ex = await h.executor([
      acts,
      holdActs,
      new AddFlow(acts),
      new OtherFlow(),
      new StampFlow(acts),
      new HoldFlow(holdActs),
      new OutOfStockFlow(acts),
      new ThrowingFlow(acts),
    ]);
  });

  afterEach(async () => {
    await h.dispose();
  });

  it('dispatches, waits for the result and describes the execution', async () => {
    const id = await ex.dispatch(AddFlow, [41]);
    expect(typeof id).toBe('string');
    const result = await ex.waitFor<number>(id, { timeout: '20s' });
    expect(result.ok).toBe(true);
    expect(result.value).toBe(42);
    expect(result.state).toBe('completed');
    expect(result.unwrap()).toBe(42);

    const info = await ex.getExecution(id);
    expect(info.id).toBe(id);
    expect(info.workflowName).toBe('AddFlow');
    expect(info.state).toBe('completed');
    expect(info.args).toEqual([41]);
    expect(info.result?.ok).toBe(true);
    expect(info.result?.value).toBe(42);
    expect(info.startedAt).toBeInstanceOf(Date);
    expect(info.finishedAt).toBeInstanceOf(Date);
    expect(info.finishedAt!.getTime()).toBeGreaterThanOrEqual(info.createdAt.getTime());
    expect(acts.calls).toBe(1);
  });

  it('dispatches by durable name as well as by class', async () => {
    const id = await ex.dispatch('AddFlow', [1]);
    expect((await ex.waitFor(id, { timeout: '20s' })).value).toBe(2);
  });

  it('lists executions with filters, paging and a total', async () => {
    const completed = [await ex.dispatch(AddFlow, [1]), await ex.dispatch(AddFlow, [2]), await ex.dispatch(AddFlow, [3])];
    const later = [
      await ex.dispatch(AddFlow, [4], { delay: '1h', tags: ['later', 'batch-7'] }),
      await ex.dispatch(AddFlow, [5], { delay: '1h', tags: ['later'] }),
    ];
    const otherQueue = await ex.dispatch(AddFlow, [6], { queue: 'nobody-serves-this' });
    const other = await ex.dispatch(OtherFlow, [], { tags: ['batch-7'] });
    for (const id of [...completed, other]) expect((await ex.waitFor(id, { timeout: '20s' })).state).toBe('completed');

    const all = await ex.listExecutions();
    expect(all.total).toBe(7);
    expect(all.items).toHaveLength(7);

    const adds = await ex.listExecutions({ workflowName: 'AddFlow' });
    expect(adds.total).toBe(6);
    expect(adds.items.every((item) => item.workflowName === 'AddFlow')).toBe(true);

    const done = await ex.listExecutions({ state: 'completed' });
    expect(new Set(done.items.map((i) => i.id))).toEqual(new Set([...completed, other]));

    const pending = await ex.listExecutions({ state: ['pending'] });
    expect(new Set(pending.items.map((i) => i.id))).toEqual(new Set([...later, otherQueue]));
    expect((await ex.listExecutions({ state: ['pending', 'completed'] })).total).toBe(7);
    expect((await ex.listExecutions({ state: 'failed' })).total).toBe(0);

    const tagged = await ex.listExecutions({ tag: 'later' });
    expect(new Set(tagged.items.map((i) => i.id))).toEqual(new Set(later));
    expect(tagged.items.find((i) => i.id === later[0])!.tags).toEqual(['later', 'batch-7']);
    expect(new Set((await ex.listExecutions({ tag: 'batch-7' })).items.map((i) => i.id))).toEqual(new Set([later[0], other]));

    const queued = await ex.listExecutions({ queue: 'nobody-serves-this' });
    expect(queued.items.map((i) => i.id)).toEqual([otherQueue]);
    expect(queued.items[0]!.queue).toBe('nobody-serves-this');

    expect((await ex.listExecutions({ workflowName: 'AddFlow', state: 'pending' })).total).toBe(3);

    const page1 = await ex.listExecutions({ workflowName: 'AddFlow' }, { limit: 4, offset: 0 });
    const page2 = await ex.listExecutions({ workflowName: 'AddFlow' }, { limit: 4, offset: 4 });
    expect(page1.total).toBe(6);
    expect(page2.total).toBe(6);
    expect(page1.items).toHaveLength(4);
    expect(page2.items).toHaveLength(2);
    expect(page1.limit).toBe(4);
    expect(page2.offset).toBe(4);
    const paged = [...page1.items, ...page2.items].map((i) => i.id);
    expect(new Set(paged).size).toBe(6);
    expect(new Set(paged)).toEqual(new Set([...completed, ...later, otherQueue]));
    // newest first
    const created = [...page1.items, ...page2.items].map((i) => i.createdAt.getTime());
    expect([...created].sort((a, b) => b - a)).toEqual(created);

    const beyond = await ex.listExecutions({ workflowName: 'AddFlow' }, { limit: 4, offset: 8 });
    expect(beyond.items).toHaveLength(0);
    expect(beyond.total).toBe(6);
  });

  it('refuses an unknown workflow and stores nothing', async () => {
    expect(await errorOf(() => ex.dispatch('NoSuchFlow', []))).toBeInstanceOf(UnknownWorkflowError);
    expect(await errorOf(() => ex.dispatch(NotAWorkflow, []))).toBeInstanceOf(UnknownWorkflowError);
    const error = await errorOf(() => ex.dispatch('NoSuchFlow', []));
    expect(error.message).toContain('NoSuchFlow');
    expect((await ex.listExecutions()).total).toBe(0);
  });

  it('refuses a malformed duration in dispatch options and stores nothing', async () => {
    expect(await errorOf(() => ex.dispatch(AddFlow, [1], { delay: 'soon' }))).toBeInstanceOf(InvalidDurationError);
    expect(await errorOf(() => ex.dispatch(AddFlow, [1], { maxDuration: '3 weeks' }))).toBeInstanceOf(InvalidDurationError);
    expect(await errorOf(() => ex.dispatch(AddFlow, [1], { delay: -5 }))).toBeInstanceOf(InvalidDurationError);
    expect((await ex.listExecutions()).total).toBe(0);
    const id = await ex.dispatch(AddFlow, [1]);
    expect(await errorOf(() => ex.waitFor(id, { timeout: 'a while' }))).toBeInstanceOf(InvalidDurationError);
  });

  it('refuses non-serializable arguments with SerializationError and stores nothing', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const bad of [[() => 1], [{ amount: 10n }], [circular], [new Map([['k', 'v']])]]) {
      const error = await errorOf(() => ex.dispatch(AddFlow, bad as never));
      expect(error).toBeInstanceOf(SerializationError);
    }
    expect((await ex.listExecutions()).total).toBe(0);
    expect(acts.calls).toBe(0);
  });

  it('waitFor throws WaitTimeoutError on its own timeout and the execution carries on', async () => {
    const id = await ex.dispatch(HoldFlow, []);
    await waitUntil(() => gate.entered === 1, 'the activity to start');
    const started = Date.now();
    const error = await errorOf(() => ex.waitFor(id, { timeout: '300ms' }));
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).executionId).toBe(id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect((await ex.getExecution(id)).state).toBe('running');
    gate.open('done');
    const result = await ex.waitFor(id, { timeout: '20s' });
    expect(result.value).toBe('done');
  });

  it('unknown execution ids give ExecutionNotFoundError from getExecution and waitFor', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const fromGet = await errorOf(() => ex.getExecution(missing));
    expect(fromGet).toBeInstanceOf(ExecutionNotFoundError);
    expect(fromGet.message).toContain(missing);
    const started = Date.now();
    const fromWait = await errorOf(() => ex.waitFor(missing, { timeout: '10s' }));
    expect(fromWait).toBeInstanceOf(ExecutionNotFoundError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await errorOf(() => ex.getExecution(''))).toBeInstanceOf(ExecutionNotFoundError);
  });

  it('a workflow returning Result.error ends completed and waitFor hands that Result back', async () => {
    const id = await ex.dispatch(OutOfStockFlow, ['sku-9']);
    const result = await ex.waitFor(id, { timeout: '20s' });
    expect(result).toBeInstanceOf(Result);
    expect(result.ok).toBe(false);
    expect(result.state).toBe('completed');
    expect(result.error).toEqual({ reason: 'out of stock', sku: 'sku-9' });
    const info = await ex.getExecution(id);
    expect(info.state).toBe('completed');
    expect(info.result?.ok).toBe(false);
    expect(info.result?.error).toEqual({ reason: 'out of stock', sku: 'sku-9' });
  });

  it('a throwing workflow ends failed with the rebuilt error in Result.error', async () => {
    const id = await ex.dispatch(ThrowingFlow, ['o-17']);
    const result = await ex.waitFor(id, { timeout: '20s' });
    expect(result.ok).toBe(false);
    expect(result.state).toBe('failed');
    const error = result.error as OrderRejectedError;
    expect(error).toBeInstanceOf(OrderRejectedError);
    expect(error.message).toBe('order o-17 rejected');
    expect(error.code).toBe('R42');
    expect(error.stack).toContain('order o-17 rejected');
    expect(error.stack).toContain('dispatch.test');
    expect(() => result.unwrap()).toThrow(OrderRejectedError);
    expect((await ex.getExecution(id)).state).toBe('failed');
  });

  it('the same idempotencyKey returns the same execution id', async () => {
    const first = await ex.dispatch(AddFlow, [10], { idempotencyKey: 'order-1' });
    const second = await ex.dispatch(AddFlow, [99], { idempotencyKey: 'order-1' });
    expect(second).toBe(first);
    await ex.waitFor(first, { timeout: '20s' });
    const afterwards = await ex.dispatch(AddFlow, [7], { idempotencyKey: 'order-1' });
    expect(afterwards).toBe(first);
    const different = await ex.dispatch(AddFlow, [10], { idempotencyKey: 'order-2' });
    expect(different).not.toBe(first);
    await ex.waitFor(different, { timeout: '20s' });
    expect((await ex.listExecutions({ workflowName: 'AddFlow' })).total).toBe(2);
    const info = await ex.getExecution(first);
    expect(info.args).toEqual([10]);
    expect(info.idempotencyKey).toBe('order-1');
    expect(info.result?.value).toBe(11);
    expect(acts.calls).toBe(2);
  });

  it('the delay option holds the execution back', async () => {
    const before = Date.now();
    const id = await ex.dispatch(StampFlow, [], { delay: '800ms' });
    const info = await ex.getExecution(id);
    expect(info.state).toBe('pending');
    expect(info.wakeAt!.getTime()).toBeGreaterThanOrEqual(before + 800);
    const result = await ex.waitFor<number>(id, { timeout: '20s' });
    expect(result.ok).toBe(true);
    expect(acts.stamps).toHaveLength(1);
    expect(acts.stamps[0]!).toBeGreaterThanOrEqual(before + 800);
    const started = (await ex.getExecution(id)).startedAt!;
    expect(started.getTime()).toBeGreaterThanOrEqual(before + 800);
  });
});
