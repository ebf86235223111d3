import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, Result, Stent } from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { createHarness, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

const runs: string[] = [];
let gate: { promise: Promise<void>; open(): void } | undefined;
function newGate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  gate = { promise, open };
  return gate;
}

class Shipping {
  async label(orderId: string): Promise<string> {
    runs.push(`label:${orderId}`);
    if (gate) await gate.promise;
    return `LBL-${orderId}`;
  }
}
defineActivity(Shipping);

class ShipWorkflow {
  constructor(private readonly shipping: Shipping) {}
  async run(orderId: string): Promise<string> {
    return this.shipping.label(orderId);
  }
}
defineWorkflow(ShipWorkflow);

class FailingChild {
  async run(): Promise<string> {
    throw new RangeError('child broke');
  }
}
defineWorkflow(FailingChild);

class ResultChild {
  async run(): Promise<Result<number, string>> {
    return Result.error('declined');
  }
}
defineWorkflow(ResultChild);

class WaitingChild {
  async run(): Promise<unknown> {
    return Stent.waitForSignal('never');
  }
}
defineWorkflow(WaitingChild);

class Parent {
  constructor(
    private readonly ship: ShipWorkflow,
    private readonly failing: FailingChild,
    private readonly resultChild: ResultChild,
  ) {}
  async run(orderId: string): Promise<unknown> {
    const label = await this.ship.run(orderId);
    let failure = '';
    try {
      await this.failing.run();
    } catch (error) {
      failure = `${(error as Error).name}: ${(error as Error).message}`;
    }
    const declined = await this.resultChild.run();
    return { label, failure, declined: declined.ok ? 'ok' : declined.error };
  }
}
defineWorkflow(Parent);

class WaitingParent {
  constructor(private readonly child: WaitingChild) {}
  async run(): Promise<unknown> {
    return this.child.run();
  }
}
defineWorkflow(WaitingParent);

describe.each(BACKENDS)('child workflows on %s', (backend) => {
  let harness: Harness;
  afterEach(async () => {
    gate?.open();
    gate = undefined;
    runs.length = 0;
    await harness?.dispose();
  });

  function instances() {
    const shipping = new Shipping();
    const ship = new ShipWorkflow(shipping);
    const failing = new FailingChild();
    const resultChild = new ResultChild();
    const waiting = new WaitingChild();
    return [shipping, ship, failing, resultChild, waiting, new Parent(ship, failing, resultChild), new WaitingParent(waiting)];
  }

  it("calling another workflow's run() starts a linked child execution and awaits its outcome", async () => {
    harness = await createHarness(backend, instances());
    const id = await harness.executor.dispatch(Parent, ['o-1']);
    const result = await harness.executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toEqual({ label: 'LBL-o-1', failure: 'RangeError: child broke', declined: 'declined' });
    const children = await harness.executor.listExecutions({ parentId: id });
    expect(children.items.map((c) => [c.workflowName, c.state]).sort()).toEqual([
      ['FailingChild', 'failed'],
      ['ResultChild', 'completed'],
      ['ShipWorkflow', 'completed'],
    ]);
    const journal = await harness.executor.getJournal(id);
    expect(journal.map((s) => [s.kind, s.name])).toEqual([
      ['child', 'ShipWorkflow'],
      ['child', 'FailingChild'],
      ['child', 'ResultChild'],
    ]);
  });

  it('a worker lost while the child runs: another finishes both and nothing runs twice', async () => {
    newGate();
    harness = await createHarness(backend, instances(), { ...FAST_WORKER, lease: '1s', heartbeat: '200ms' });
    const id = await harness.executor.dispatch(Parent, ['o-2']);
    await waitUntil(() => runs.includes('label:o-2'), 'the child activity to start');
    // Stop the first worker without letting the activity finish: its leases are handed back.
    await harness.executor.worker!.stop();
    runs.length = 0;
    gate!.open();
    gate = undefined;
    const second = await harness.spawn(FAST_WORKER, ...instances());
    const result = await second.waitFor(id, { timeout: '30s' });
    expect(result.value).toMatchObject({ label: 'LBL-o-2' });
    // the interrupted activity ran again once; nothing else ran twice
    expect(runs).toEqual(['label:o-2']);
    const children = await second.listExecutions({ parentId: id });
    expect(children.total).toBe(3);
  });

  it('cancelling the parent cancels its children', async () => {
    harness = await createHarness(backend, instances());
    const id = await harness.executor.dispatch(WaitingParent, []);
    await waitUntil(async () => (await harness.executor.listExecutions({ parentId: id })).total === 1, 'the child to start');
    const outcome = await harness.executor.cancel(id);
    expect(outcome).toEqual({ cancelled: true, state: 'cancelled' });
    const [child] = (await harness.executor.listExecutions({ parentId: id })).items;
    expect(child!.state).toBe('cancelled');
    const result = await harness.executor.waitFor(id, { timeout: '5s' });
    expect(result.state).toBe('cancelled');
  });
});
