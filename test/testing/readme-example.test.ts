// The README's "Testing your workflows" example, as written (the last test checks the two stay the same).
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// order.workflow.spec.ts
import { Test, type TestingModule } from '@nestjs/testing';
import { Activity, Stent, StentExecutor, Workflow } from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';

@Activity({ retry: { maxAttempts: 3, initialDelay: '1h', maxDelay: '1h', jitter: false } })
export class PaymentActivities {
  async charge(orderId: string): Promise<string> {
    throw new Error('the real gateway is not for tests');
  }
}

@Workflow()
export class OrderWorkflow {
  constructor(private readonly payments: PaymentActivities) {}

  async run(orderId: string): Promise<{ approval: string; receipt: string }> {
    await Stent.sleep('30d');
    const approval = await Stent.waitForSignal<string>('approval', { timeout: '2d' }).catch(() => 'timed out');
    const receipt = await this.payments.charge(orderId);
    return { approval, receipt };
  }
}

describe('OrderWorkflow', () => {
  let moduleRef: TestingModule;
  let stent: StentTestHarness;
  let executor: StentExecutor;
  const charges: string[] = [];

  beforeEach(async () => {
    charges.length = 0;
    moduleRef = await Test.createTestingModule({
      imports: [StentTestingModule.forRoot()],        // in-memory SQLite, manual clock
      providers: [PaymentActivities, OrderWorkflow],
    })
      .overrideProvider(PaymentActivities)
      .useValue({
        async charge(orderId: string) {
          charges.push(orderId);
          if (charges.length === 1) throw new Error('gateway down'); // the first attempt fails
          return `receipt for ${orderId}`;
        },
      })
      .compile();
    await moduleRef.init();                           // starts the worker
    stent = moduleRef.get(StentTestHarness);
    executor = moduleRef.get(StentExecutor);
  });

  afterEach(() => moduleRef.close());

  it('approves, charges after a retry and finishes', async () => {
    const id = await executor.dispatch(OrderWorkflow, ['o-1']);
    await stent.advance('30d');                       // the sleep ends
    await executor.sendSignal(id, 'approval', 'yes');
    await stent.drain();                              // runs what is due: the first charge fails
    expect(charges).toEqual(['o-1']);
    await stent.advance('1h');                        // the retry's back-off ends
    const outcome = await executor.waitFor(id);
    expect(outcome.unwrap()).toEqual({ approval: 'yes', receipt: 'receipt for o-1' });
    await stent.expectJournal(id, [{ kind: 'sleep' }, { kind: 'signal' }, { name: 'PaymentActivities.charge', attempts: 2 }], {
      kinds: ['sleep', 'signal', 'activity'],
    });
  });

  it('times out the approval without a signal', async () => {
    const id = await executor.dispatch(OrderWorkflow, ['o-2']);
    const outcome = await stent.runToCompletion(id); // moves the clock from one scheduled time to the next
    expect(outcome.unwrap().approval).toBe('timed out');
  });

  it('survives a crash while charging', async () => {
    stent.crashOnStep('PaymentActivities.charge');   // the worker dies as the first attempt starts
    const id = await executor.dispatch(OrderWorkflow, ['o-3']);
    const outcome = await stent.runToCompletion(id);
    expect(outcome.ok).toBe(true);
    expect(stent.crashes).toBe(1);
    expect(stent.replays(id)).toBeGreaterThan(0);    // the new worker replayed the journal
  });
});

describe('README "Testing your workflows"', () => {
  it('is this file, as written', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## Testing your workflows'));
    const example = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
    const source = readFileSync('test/testing/readme-example.test.ts', 'utf8');
    expect(source).toContain(example);
  });
});
