import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, defineActivity, defineWorkflow, InvalidNameError, NonDeterminismError, Stent, type StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { errorOf, ExecutorSet, REPLAYING_WORKER } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/** What each deploy's activity bodies really ran. */
class Ran {
  names: string[] = [];
}

class OrderActs {
  constructor(private readonly ran: Ran) {}
  async reserve(order: string): Promise<string> {
    this.ran.names.push(`reserve:${order}`);
    return order;
  }
  async checkFraud(order: string): Promise<boolean> {
    this.ran.names.push(`checkFraud:${order}`);
    return true;
  }
  async ship(order: string): Promise<string> {
    this.ran.names.push(`ship:${order}`);
    return `shipped ${order}`;
  }
}
defineActivity(OrderActs, { name: 'OrderActs' });

/** Code v1: reserve, wait for payment, ship. */
class OrderFlowV1 {
  constructor(private readonly acts: OrderActs) {}
  async run(order: string): Promise<string> {
    await this.acts.reserve(order);
    await Stent.waitForSignal('paid');
    return this.acts.ship(order);
  }
}
defineWorkflow(OrderFlowV1, { name: 'OrderFlow', version: 1 });

/** Code v2: a fraud check added before the payment wait, behind a patch. */
class OrderFlowV2 {
  constructor(private readonly acts: OrderActs) {}
  async run(order: string): Promise<string> {
    await this.acts.reserve(order);
    if (Stent.patched('fraud-check')) await this.acts.checkFraud(order);
    await Stent.waitForSignal('paid');
    return this.acts.ship(order);
  }
}
defineWorkflow(OrderFlowV2, { name: 'OrderFlow', version: 2, replaysFrom: 1 });

/** Code v2 without the patch: the new step takes the position v1 recorded the payment wait at. */
class OrderFlowV2Unpatched {
  constructor(private readonly acts: OrderActs) {}
  async run(order: string): Promise<string> {
    await this.acts.reserve(order);
    await this.acts.checkFraud(order);
    await Stent.waitForSignal('paid');
    return this.acts.ship(order);
  }
}
defineWorkflow(OrderFlowV2Unpatched, { name: 'OrderFlow', version: 2, replaysFrom: 1 });

/** Code v3: every v1 execution has finished; the check is unconditional and its patch deprecated. */
class OrderFlowV3 {
  constructor(private readonly acts: OrderActs) {}
  async run(order: string): Promise<string> {
    await this.acts.reserve(order);
    Stent.deprecatePatch('fraud-check');
    await this.acts.checkFraud(order);
    await Stent.waitForSignal('paid');
    return this.acts.ship(order);
  }
}
defineWorkflow(OrderFlowV3, { name: 'OrderFlow', version: 3, replaysFrom: 2 });

/** v2 code that claims it replays only itself (the default when replaysFrom is not given). */
class OrderFlowV2Only {
  constructor(private readonly acts: OrderActs) {}
  async run(order: string): Promise<string> {
    return new OrderFlowV2(this.acts).run(order);
  }
}
defineWorkflow(OrderFlowV2Only, { name: 'OrderFlow', version: 2 });

class BadPatch {
  async run(): Promise<void> {
    Stent.patched('');
  }
}
defineWorkflow(BadPatch, { name: 'BadPatch' });

type Flow = new (acts: OrderActs) => object;

describe.each(DIALECTS)('workflow versions and patches on %s', (dialect) => {
  let h: ExecutorSet;
  beforeEach(async () => {
    h = await ExecutorSet.create(dialect);
  });
  afterEach(async () => {
    await h.dispose();
  });

  async function deploy(flow: Flow, ran = new Ran()): Promise<{ executor: StentExecutor; ran: Ran }> {
    const acts = new OrderActs(ran);
    return { executor: await h.executor([acts, new flow(acts)], REPLAYING_WORKER), ran };
  }

  /** Starts `order` on v1 code and stops that deploy once the execution waits for its payment. */
  async function startOnV1(order: string): Promise<string> {
    const { executor } = await deploy(OrderFlowV1);
    const id = await executor.dispatch(OrderFlowV1, [order]);
    await waitUntil(async () => (await executor.getJournal(id)).some((step) => step.kind === 'signal'), 'the v1 execution waits for its payment');
    await executor.close('5s');
    return id;
  }

  it('an execution started on v1 and resumed by v2 skips the patched step; a new one runs it and records the marker', async () => {
    const oldId = await startOnV1('old');
    const { executor, ran } = await deploy(OrderFlowV2);
    const newId = await executor.dispatch(OrderFlowV2, ['new']);
    await waitUntil(async () => (await executor.getJournal(newId)).some((step) => step.kind === 'signal'), 'the v2 execution waits for its payment');
    await executor.sendSignal(oldId, 'paid');
    await executor.sendSignal(newId, 'paid');

    expect((await executor.waitFor(oldId, { timeout: '30s' })).value).toBe('shipped old');
    expect((await executor.waitFor(newId, { timeout: '30s' })).value).toBe('shipped new');
    expect(ran.names).not.toContain('checkFraud:old');
    expect(ran.names).toContain('checkFraud:new');
    expect((await executor.getJournal(oldId)).map((step) => step.name)).toEqual(['OrderActs.reserve', 'paid', 'OrderActs.ship']);
    expect((await executor.getJournal(newId)).map((step) => step.name)).toEqual(['OrderActs.reserve', 'patch:fraud-check', 'OrderActs.checkFraud', 'paid', 'OrderActs.ship']);
    expect((await executor.getExecution(oldId)).version).toBe(1);
    expect((await executor.getExecution(newId)).version).toBe(2);
  });

  it('without the patch, v2 fails the v1 execution with NonDeterminismError naming both steps', async () => {
    const oldId = await startOnV1('old');
    const { executor, ran } = await deploy(OrderFlowV2Unpatched);
    await executor.sendSignal(oldId, 'paid');
    const result = await executor.waitFor(oldId, { timeout: '30s' });
    expect(result.state).toBe('failed');
    const error = result.error as NonDeterminismError;
    expect(error).toBeInstanceOf(NonDeterminismError);
    expect(error.message).toContain('paid');
    expect(error.message).toContain('OrderActs.checkFraud');
    expect(error.position).toBe(1);
    expect(ran.names).not.toContain('checkFraud:old');
  });

  it('deprecatePatch: v3 replays an execution that recorded the marker, and new executions record none', async () => {
    const { executor: v2 } = await deploy(OrderFlowV2);
    const patchedId = await v2.dispatch(OrderFlowV2, ['patched']);
    await waitUntil(async () => (await v2.getJournal(patchedId)).some((step) => step.kind === 'signal'), 'the v2 execution waits for its payment');
    await v2.close('5s');

    const { executor, ran } = await deploy(OrderFlowV3);
    const newId = await executor.dispatch(OrderFlowV3, ['new']);
    await waitUntil(async () => (await executor.getJournal(newId)).some((step) => step.kind === 'signal'), 'the v3 execution waits for its payment');
    await executor.sendSignal(patchedId, 'paid');
    await executor.sendSignal(newId, 'paid');
    expect((await executor.waitFor(patchedId, { timeout: '30s' })).value).toBe('shipped patched');
    expect((await executor.waitFor(newId, { timeout: '30s' })).value).toBe('shipped new');
    expect(ran.names.filter((name) => name === 'checkFraud:patched')).toEqual([]);
    expect((await executor.getJournal(newId)).map((step) => step.name)).toEqual(['OrderActs.reserve', 'OrderActs.checkFraud', 'paid', 'OrderActs.ship']);
  });

  it('a worker leaves executions of versions it cannot replay to others, and says so in its log and stats()', async () => {
    const oldId = await startOnV1('old');
    const { executor: v2only } = await deploy(OrderFlowV2Only);
    await v2only.sendSignal(oldId, 'paid');
    const stats = await waitUntil(async () => {
      const { thisWorker } = await v2only.stats();
      return thisWorker?.leftForOtherVersions.length ? thisWorker : undefined;
    }, 'the v2-only worker reports the v1 execution it leaves');
    expect(stats.leftForOtherVersions).toEqual([{ workflowName: 'OrderFlow', version: 1, due: 1 }]);
    expect(h.logger.lines.some((line) => line.level === 'warn' && line.message.includes('1 of OrderFlow v1') && line.message.includes('OrderFlow v2'))).toBe(true);
    expect((await v2only.getExecution(oldId)).state).toBe('running');
    expect((await v2only.getJournal(oldId)).map((step) => step.state)).toEqual(['completed', 'waiting']);

    // A worker that replays v1 takes it.
    const { executor: v2 } = await deploy(OrderFlowV2);
    expect((await v2.waitFor(oldId, { timeout: '30s' })).value).toBe('shipped old');
    await waitUntil(async () => (await v2only.stats()).thisWorker?.leftForOtherVersions.length === 0, 'the v2-only worker no longer reports it');
  });

  it('refuses versions that are not whole numbers in order, and empty patch ids', async () => {
    class Unversioned {
      async run(): Promise<void> {}
    }
    expect(() => defineWorkflow(Unversioned, { name: 'V', version: 1.5 })).toThrow(ConfigurationError);
    expect(() => defineWorkflow(Unversioned, { name: 'V', version: 1, replaysFrom: 2 })).toThrow(ConfigurationError);
    expect(() => defineWorkflow(Unversioned, { name: 'V', replaysFrom: 0 })).toThrow(ConfigurationError);
    const executor = await h.executor([new BadPatch()], REPLAYING_WORKER);
    const result = await executor.waitFor(await executor.dispatch(BadPatch, []), { timeout: '30s' });
    expect(result.error).toBeInstanceOf(InvalidNameError);
    expect(await errorOf(() => Stent.patched('x'))).toMatchObject({ code: 'STENT_NOT_IN_WORKFLOW' });
  });
});
