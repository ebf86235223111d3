import 'reflect-metadata';
import { afterEach, describe, expect, it } from 'vitest';
import { Test, type TestingModule } from '@nestjs/testing';
import { Activity, ActivityFailedError, ActivityTimeoutError, SignalTimeoutError, Stent, StentExecutor, Workflow, WorkflowTimedOutError } from 'nestjs-stent';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { DrainTimeoutError, ExecutionStuckError, JournalMismatchError, ManualClock, StentTestHarness, StentTestingModule, type JournalFilter } from 'nestjs-stent/testing';

const HOUR = 3_600_000;
/** Journal assertions below look at durable calls, not at the values Stent.now() records. */
const DURABLE = { kinds: ['sleep', 'signal', 'activity'] } as JournalFilter;
const DAY = 24 * HOUR;

// ---- the application under test --------------------------------------------------------------------

@Activity({ retry: { maxAttempts: 3, initialDelay: '1h', maxDelay: '1h', jitter: false } })
class PaymentActivities {
  readonly calls: string[] = [];
  async charge(orderId: string): Promise<string> {
    this.calls.push(orderId);
    return `real charge ${orderId}`;
  }
}

@Activity({ retry: { maxAttempts: 1 } })
class ShippingActivities {
  readonly shipped: string[] = [];
  async ship(orderId: string): Promise<string> {
    this.shipped.push(orderId);
    return `shipped ${orderId}`;
  }
}

/** Sleeps 30 days, waits 2 days for an approval, charges and ships. */
@Workflow()
class MonthLongOrder {
  constructor(
    private readonly payments: PaymentActivities,
    private readonly shipping: ShippingActivities,
  ) {}

  async run(orderId: string): Promise<{ approval: string; receipt: string; parcel: string; startedAt: number; chargedAt: number }> {
    const startedAt = Stent.now().getTime();
    await Stent.sleep('30d');
    let approval: string;
    try {
      approval = await Stent.waitForSignal<string>('approval', { timeout: '2d' });
    } catch (error) {
      if (!(error instanceof SignalTimeoutError)) throw error;
      approval = 'timed out';
    }
    const receipt = await this.payments.charge(orderId);
    const chargedAt = Stent.now().getTime();
    const parcel = await this.shipping.ship(orderId);
    return { approval, receipt, parcel, startedAt, chargedAt };
  }
}

/** Runs until its AbortSignal fires. */
@Activity({ timeout: '1h', retry: { maxAttempts: 2, initialDelay: '10m', jitter: false } })
class SlowActivities {
  started = 0;
  async crunch(): Promise<string> {
    this.started++;
    const { signal } = Stent.activity();
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    throw signal.reason;
  }
}

@Workflow()
class Crunch {
  constructor(private readonly slow: SlowActivities) {}
  async run(): Promise<string> {
    return this.slow.crunch();
  }
}

@Workflow({ maxDuration: '7d' })
class AwaitsForever {
  async run(): Promise<string> {
    await Stent.waitForSignal('never');
    return 'unreachable';
  }
}

@Workflow()
class NeedsSignal {
  async run(): Promise<string> {
    return Stent.waitForSignal<string>('go');
  }
}

/** Sleeps a day per round, continuing as new after each, for `rounds` rounds. */
@Workflow()
class DailyRounds {
  async run(rounds: number, done = 0): Promise<number> {
    await Stent.sleep('1d');
    if (done + 1 < rounds) return Stent.continueAsNew(rounds, done + 1);
    return done + 1;
  }
}

const PROVIDERS = [PaymentActivities, ShippingActivities, MonthLongOrder, SlowActivities, Crunch, AwaitsForever, NeedsSignal, DailyRounds];

// ---- tests ------------------------------------------------------------------------------------------

describe('nestjs-stent/testing', () => {
  let moduleRef: TestingModule | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  async function compile(fakes: { payments?: object } = {}): Promise<{ harness: StentTestHarness; executor: StentExecutor; clock: ManualClock }> {
    let builder = Test.createTestingModule({ imports: [StentTestingModule.forRoot()], providers: PROVIDERS });
    if (fakes.payments) builder = builder.overrideProvider(PaymentActivities).useValue(fakes.payments);
    moduleRef = await builder.compile();
    await moduleRef.init();
    return { harness: moduleRef.get(StentTestHarness), executor: moduleRef.get(StentExecutor), clock: moduleRef.get(ManualClock) };
  }

  it('tests a workflow that sleeps 30 days and waits 2 days for a signal in well under a second of real time', async () => {
    const { harness, executor, clock } = await compile();
    const started = clock.now();
    const realStart = performance.now();
    const id = await executor.dispatch(MonthLongOrder, ['o-1']);
    await harness.drain();
    expect((await executor.getExecution(id)).state).toBe('running');
    await harness.expectJournal(id, [{ kind: 'sleep', state: 'waiting' }], DURABLE);

    await harness.advance('29d');
    await harness.expectJournal(id, [{ kind: 'sleep', state: 'waiting' }], DURABLE);
    await harness.advance('1d');
    await harness.expectJournal(id, [{ kind: 'sleep', state: 'completed' }, { kind: 'signal', name: 'approval', state: 'waiting' }], DURABLE);

    await harness.advance('2d');
    const outcome = await executor.waitFor(id, { timeout: '5s' });
    expect(outcome.ok).toBe(true);
    const value = outcome.unwrap();
    expect(value.approval).toBe('timed out');
    expect(value.startedAt).toBe(started);
    expect(value.chargedAt - started).toBe(32 * DAY);
    await harness.expectJournal(id, [{ kind: 'sleep' }, { kind: 'signal', name: 'approval' }, 'PaymentActivities.charge', 'ShippingActivities.ship'], DURABLE);
    expect(await harness.activityCalls(id)).toEqual(['PaymentActivities.charge', 'ShippingActivities.ship']);
    // 32 days in (usually) well under a second; the bound leaves room for a loaded machine.
    expect(performance.now() - realStart).toBeLessThan(20_000);
  });

  it('delivers a signal sent before its time-out', async () => {
    const { harness, executor } = await compile();
    const id = await executor.dispatch(MonthLongOrder, ['o-2']);
    await harness.advance('30d');
    await harness.advance('1d');
    await executor.sendSignal(id, 'approval', 'approved by Ann');
    await harness.drain();
    const outcome = await executor.waitFor(id, { timeout: '5s' });
    expect(outcome.unwrap().approval).toBe('approved by Ann');
    expect(outcome.unwrap().chargedAt - outcome.unwrap().startedAt).toBe(31 * DAY);
  });

  it('runToCompletion moves the clock from one scheduled time to the next until the execution ends', async () => {
    const { harness, executor, clock } = await compile();
    const started = clock.now();
    const id = await executor.dispatch(MonthLongOrder, ['o-3']);
    const outcome = await harness.runToCompletion(id);
    expect(outcome.unwrap().approval).toBe('timed out');
    expect(clock.now() - started).toBe(32 * DAY);
  });

  it('runToCompletion follows an execution that continues as new down its chain', async () => {
    const { harness, executor, clock } = await compile();
    const started = clock.now();
    const id = await executor.dispatch(DailyRounds, [3]);
    expect((await harness.runToCompletion(id)).unwrap()).toBe(3);
    expect(clock.now() - started).toBe(3 * DAY);
    expect((await executor.listExecutions({ workflowName: 'DailyRounds' })).total).toBe(3);
  });

  it('an overridden activity provider stays durable: the fake runs, is retried after its 1 h back-off and is recorded in the journal', async () => {
    const fakeCalls: Array<{ orderId: string; at: number }> = [];
    let clockRef: ManualClock | undefined;
    const fake = {
      async charge(orderId: string): Promise<string> {
        fakeCalls.push({ orderId, at: clockRef!.now() });
        if (fakeCalls.length === 1) throw new Error('gateway down');
        return `fake charge ${orderId}`;
      },
    };
    const { harness, executor, clock } = await compile({ payments: fake });
    clockRef = clock;
    const id = await executor.dispatch(MonthLongOrder, ['o-4']);
    await harness.advance('32d');
    // The first attempt failed; the retry waits its hour.
    expect(fakeCalls.map((call) => call.at - clock.now())).toEqual([0]);
    await harness.expectJournal(id, [{ kind: 'sleep' }, { kind: 'signal' }, { name: 'PaymentActivities.charge', state: 'pending', attempts: 1 }], DURABLE);
    await harness.advance('59m');
    expect(fakeCalls).toHaveLength(1);
    await harness.advance('1m');
    expect(fakeCalls).toHaveLength(2);
    expect(fakeCalls[1]!.at - fakeCalls[0]!.at).toBe(HOUR);

    const outcome = await executor.waitFor(id, { timeout: '5s' });
    expect(outcome.unwrap().receipt).toBe('fake charge o-4');
    await harness.expectJournal(id, [{ kind: 'sleep' }, { kind: 'signal' }, { name: 'PaymentActivities.charge', state: 'completed', attempts: 2 }, { name: 'ShippingActivities.ship', attempts: 1 }], DURABLE);
    expect(await harness.attempts(id, 'PaymentActivities.charge')).toBe(2);
    // The real provider never ran.
    expect(moduleRef!.get(PaymentActivities)).toBe(fake);
  });

  it('makes an activity time-out due, and its retry after the back-off', async () => {
    const { harness, executor } = await compile();
    const slow = moduleRef!.get(SlowActivities);
    const id = await executor.dispatch(Crunch, []);
    await harness.drain({ waitForActivities: false });
    expect(slow.started).toBe(1);
    await harness.advance('59m', { waitForActivities: false });
    expect((await harness.steps(id))[0]).toMatchObject({ state: 'running', attempts: 1 });
    await harness.advance('1m', { waitForActivities: false });
    await harness.expectJournal(id, [{ name: 'SlowActivities.crunch', state: 'pending', attempts: 1 }], DURABLE);
    await harness.advance('10m', { waitForActivities: false });
    expect(slow.started).toBe(2);
    await harness.advance('1h');
    const outcome = await executor.waitFor(id, { timeout: '5s' });
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toBeInstanceOf(ActivityFailedError);
    expect((outcome.error as ActivityFailedError).cause).toBeInstanceOf(ActivityTimeoutError);
    await harness.expectJournal(id, [{ name: 'SlowActivities.crunch', state: 'failed', attempts: 2 }], DURABLE);
  });

  it('makes maxDuration and dispatch delays due', async () => {
    const { harness, executor, clock } = await compile();
    const forever = await executor.dispatch(AwaitsForever, []);
    const delayed = await executor.dispatch(MonthLongOrder, ['o-5'], { delay: '1d' });
    await harness.drain();
    expect((await executor.getExecution(delayed)).state).toBe('pending');
    await harness.advance('1d');
    expect((await executor.getExecution(delayed)).state).toBe('running');
    expect((await executor.getExecution(forever)).state).toBe('running');
    await harness.advance('6d');
    const outcome = await executor.waitFor(forever, { timeout: '5s' });
    expect(outcome.state).toBe('timed_out');
    expect(outcome.error).toBeInstanceOf(WorkflowTimedOutError);
    expect((await executor.getExecution(forever)).finishedAt!.getTime()).toBe(clock.now());
  });

  it('runToCompletion says what an execution that no time moves on waits for', async () => {
    const { harness, executor } = await compile();
    const id = await executor.dispatch(NeedsSignal, []);
    const stuck = await harness.runToCompletion(id).catch((error: unknown) => error);
    expect(stuck).toBeInstanceOf(ExecutionStuckError);
    expect((stuck as ExecutionStuckError).code).toBe('STENT_EXECUTION_STUCK');
    expect((stuck as ExecutionStuckError).waitingOn).toEqual(['signal go (waiting)']);
    await executor.sendSignal(id, 'go', 'now');
    expect((await harness.runToCompletion(id)).unwrap()).toBe('now');
  });

  it('drain throws DrainTimeoutError naming work no worker here serves', async () => {
    const { harness, executor } = await compile();
    await executor.dispatch(MonthLongOrder, ['o-6'], { queue: 'elsewhere' });
    const error = await harness.drain({ timeout: '300ms' }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(DrainTimeoutError);
    expect((error as DrainTimeoutError).code).toBe('STENT_DRAIN_TIMEOUT');
    expect((error as DrainTimeoutError).left).toMatch(/executions are due and no worker here takes them/);
  });

  it('journal assertions fail with the expected and actual steps', async () => {
    const { harness, executor } = await compile();
    const id = await executor.dispatch(MonthLongOrder, ['o-7']);
    await harness.runToCompletion(id);
    const error = await harness.expectJournal(id, [{ kind: 'sleep' }, { kind: 'signal' }, 'ShippingActivities.ship']).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(JournalMismatchError);
    expect((error as Error).message).toContain('PaymentActivities.charge');
    await expect(harness.expectJournal(id, [{ kind: 'sleep' }, { kind: 'signal' }, 'PaymentActivities.charge', 'ShippingActivities.ship'], DURABLE)).resolves.toBeUndefined();
  });

  it('simulates a crash while a step runs: the new worker replays the journal, runs the step again and completed steps do not run again', async () => {
    const { harness, executor, clock } = await compile();
    const payments = moduleRef!.get(PaymentActivities);
    const shipping = moduleRef!.get(ShippingActivities);
    const id = await executor.dispatch(MonthLongOrder, ['o-8']);
    await harness.advance('30d');
    await executor.sendSignal(id, 'approval', 'yes');
    harness.crashOnStep('ShippingActivities.ship');
    const before = clock.now();
    const outcome = await harness.runToCompletion(id);
    expect(harness.crashes).toBe(1);
    expect(outcome.unwrap()).toMatchObject({ approval: 'yes', receipt: 'real charge o-8', parcel: 'shipped o-8' });
    // Charged once; the parcel's first attempt died with the worker (its body ran), the second one counted.
    expect(payments.calls).toEqual(['o-8']);
    expect(shipping.shipped).toEqual(['o-8', 'o-8']);
    expect(harness.replays(id)).toBeGreaterThanOrEqual(1);
    await harness.expectJournal(id, [{ kind: 'sleep' }, { kind: 'signal' }, { name: 'PaymentActivities.charge', attempts: 1 }, { name: 'ShippingActivities.ship', state: 'completed', attempts: 2 }], DURABLE);
    // The crash cost the lease (the dead worker's claims had to run out).
    expect(clock.now() - before).toBe(60_000 + 1);
  });

  it('crash() at rest restarts the worker, which replays a waiting execution when its signal comes', async () => {
    const { harness, executor } = await compile();
    const id = await executor.dispatch(MonthLongOrder, ['o-9']);
    await harness.advance('30d');
    await harness.crash();
    expect(harness.crashes).toBe(1);
    await executor.sendSignal(id, 'approval', 'after the crash');
    const outcome = await harness.runToCompletion(id);
    expect(outcome.unwrap().approval).toBe('after the crash');
    expect(harness.replays(id)).toBeGreaterThanOrEqual(2);
  });
});

describe('nestjs-stent/testing on PostgreSQL', () => {
  let moduleRef: TestingModule | undefined;
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    await db?.dispose();
    moduleRef = undefined;
  });

  it('drives the month-long order, a retry back-off and a crash on a PostgreSQL database', async () => {
    db = await createTestDatabase('postgres');
    const calls: string[] = [];
    moduleRef = await Test.createTestingModule({ imports: [StentTestingModule.forRoot({ database: db.options })], providers: PROVIDERS })
      .overrideProvider(PaymentActivities)
      .useValue({
        async charge(orderId: string) {
          calls.push(orderId);
          if (calls.length === 1) throw new Error('gateway down');
          return `fake charge ${orderId}`;
        },
      })
      .compile();
    await moduleRef.init();
    const harness = moduleRef.get(StentTestHarness);
    const executor = moduleRef.get(StentExecutor);
    const started = harness.clock.now();
    harness.crashOnStep('ShippingActivities.ship');
    const id = await executor.dispatch(MonthLongOrder, ['pg-1']);
    const outcome = await harness.runToCompletion(id);
    expect(outcome.unwrap()).toMatchObject({ approval: 'timed out', receipt: 'fake charge pg-1', parcel: 'shipped pg-1' });
    expect(outcome.unwrap().chargedAt - started).toBe(32 * DAY + HOUR);
    expect(harness.crashes).toBe(1);
    await harness.expectJournal(id, [{ kind: 'sleep' }, { kind: 'signal' }, { name: 'PaymentActivities.charge', attempts: 2 }, { name: 'ShippingActivities.ship', attempts: 2 }], DURABLE);
  });
});
