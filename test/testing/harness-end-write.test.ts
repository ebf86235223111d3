import 'reflect-metadata';
import { afterEach, describe, expect, it } from 'vitest';
import { Test, type TestingModule } from '@nestjs/testing';
import { Activity, StentExecutor, Workflow } from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';
import { waitUntil } from '../support/wait.js';

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Passes once the test opens its gate. */
@Activity()
class Gate {
  readonly passage = gate();
  async pass(): Promise<string> {
    await this.passage.promise;
    return 'passed';
  }
}

@Workflow()
class GatedFlow {
  constructor(private readonly gate: Gate) {}
  async run(): Promise<string> {
    return this.gate.pass();
  }
}

/** How long a drain with nothing left to wait for takes to return, many times over. */
const SETTLED_WITHIN_MS = 500;

describe('StentTestHarness and the write that ends a run', () => {
  let moduleRef: TestingModule | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  it('drain waits while the write that completes the execution is in flight, so the execution reads as ended after it', async () => {
    moduleRef = await Test.createTestingModule({ imports: [StentTestingModule.forRoot()], providers: [Gate, GatedFlow] }).compile();
    await moduleRef.init();
    const harness = moduleRef.get(StentTestHarness);
    const executor = moduleRef.get(StentExecutor);

    // The database answers the execution's ending only when the test says so (a slow commit, a busy server).
    const store = executor.store;
    const finishExecution = store.finishExecution.bind(store);
    const ending = gate();
    let endSent = false;
    store.finishExecution = async (...args: Parameters<typeof finishExecution>) => {
      endSent = true;
      await ending.promise;
      return finishExecution(...args);
    };

    const id = await executor.dispatch(GatedFlow, []);
    await harness.drain({ waitForActivities: false });
    moduleRef.get(Gate).passage.open();
    // Not waiting for activity steps: their state in the database is written with the ending here, and it is
    // the run's own end that must keep the drain going.
    const drained = harness.drain({ waitForActivities: false }).then(() => 'drained' as const);
    await waitUntil(() => endSent, 'the ending write sent');

    // The run has ended in memory, but the database does not say so yet: the engine has not settled.
    const early = await Promise.race([drained, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), SETTLED_WITHIN_MS))]);
    expect(early).toBe('pending');
    expect((await executor.getExecution(id)).state).toBe('running');

    ending.open();
    expect(await drained).toBe('drained');
    expect((await executor.getExecution(id)).state).toBe('completed');
  });
});
