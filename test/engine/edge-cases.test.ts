import { afterEach, describe, expect, it } from 'vitest';
import {
  ActivityFailedError,
  ConfigurationError,
  defineActivity,
  defineWorkflow,
  ExecutionFinishedError,
  NonRetryableError,
  SerializationError,
  SignalTimeoutError,
  Stent,
  StentError,
} from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

const attempts: Record<string, number> = {};
const count = (name: string) => (attempts[name] = (attempts[name] ?? 0) + 1);
let running = 0;
let maxRunning = 0;

class PaymentDeclined extends Error {}
class CardExpired extends PaymentDeclined {}

class EdgeCaseActs {
  async declinedByClass(): Promise<void> {
    count('declinedByClass');
    throw new CardExpired('expired'); // subclass of a class listed in nonRetryable
  }
  async declinedByName(): Promise<void> {
    count('declinedByName');
    const error = new Error('fraud');
    error.name = 'FraudError';
    throw error;
  }
  async declinedMarked(): Promise<void> {
    count('declinedMarked');
    throw new NonRetryableError('marked');
  }
  async circular(): Promise<unknown> {
    count('circular');
    const value: Record<string, unknown> = { a: 1 };
    value.self = value;
    return value;
  }
  async echo(x: unknown): Promise<unknown> {
    return x;
  }
  async busy(ms: number): Promise<number> {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      running--;
    }
    return ms;
  }
}
defineActivity(EdgeCaseActs, { name: 'EdgeCaseActs', retry: { maxAttempts: 3, initialDelay: '10ms', jitter: false, nonRetryable: [PaymentDeclined, 'FraudError'] } });

class Declines {
  constructor(private readonly acts: EdgeCaseActs) {}
  async run(): Promise<string[]> {
    const out: string[] = [];
    for (const call of [() => this.acts.declinedByClass(), () => this.acts.declinedByName(), () => this.acts.declinedMarked(), () => this.acts.circular()]) {
      try {
        await call();
        out.push('ok');
      } catch (error) {
        out.push(`${(error as Error).name}/${((error as Error).cause as Error)?.message}`);
      }
    }
    return out;
  }
}
defineWorkflow(Declines, { name: 'Declines' });

class ReturnsCircular {
  async run(): Promise<unknown> {
    const value: Record<string, unknown> = {};
    value.me = value;
    return value;
  }
}
defineWorkflow(ReturnsCircular, { name: 'ReturnsCircular' });

class Empties {
  constructor(private readonly acts: EdgeCaseActs) {}
  async run(): Promise<unknown> {
    const mapped = await Stent.map(this.acts.echo, []);
    const all = await Promise.all([]);
    const after = await this.acts.echo('after');
    return { mapped, all, after };
  }
}
defineWorkflow(Empties, { name: 'Empties' });

class EchoesLargeBlob {
  constructor(private readonly acts: EdgeCaseActs) {}
  async run(blob: string): Promise<number> {
    const back = (await this.acts.echo(blob)) as string;
    return back.length;
  }
}
defineWorkflow(EchoesLargeBlob, { name: 'EchoesLargeBlob' });

class Interleaved {
  async run(): Promise<unknown[]> {
    const out: unknown[] = [];
    out.push(await Stent.waitForSignal('a'));
    out.push(await Stent.waitForSignal('b'));
    out.push(...(await Promise.all([Stent.waitForSignal('a'), Stent.waitForSignal('b'), Stent.waitForSignal('a')])));
    return out;
  }
}
defineWorkflow(Interleaved, { name: 'Interleaved' });

/** A signal sent right around the first wait's timeout is consumed by exactly one of the two waits. */
class RaceTimeout {
  async run(): Promise<unknown[]> {
    let first: unknown;
    try {
      first = await Stent.waitForSignal('s', { timeout: '300ms' });
    } catch (error) {
      first = error instanceof SignalTimeoutError ? 'timeout' : `other:${String(error)}`;
    }
    let second: unknown;
    try {
      // No time-out a loaded machine could reach: the test's closing signal ends this wait.
      second = await Stent.waitForSignal('s', { timeout: '10m' });
    } catch (error) {
      second = error instanceof SignalTimeoutError ? 'timeout' : `other:${String(error)}`;
    }
    return [first, second];
  }
}
defineWorkflow(RaceTimeout, { name: 'RaceTimeout' });

class ParallelBusyCalls {
  constructor(private readonly acts: EdgeCaseActs) {}
  async run(n: number): Promise<number[]> {
    return Promise.all(Array.from({ length: n }, () => this.acts.busy(150)));
  }
}
defineWorkflow(ParallelBusyCalls, { name: 'ParallelBusyCalls' });

/** Custom state that JSON would silently turn into {} must be refused (README: SerializationError). */
class StoresMap {
  async run(): Promise<string> {
    try {
      Stent.setState('lookup', new Map([['a', 1]]));
      return 'accepted';
    } catch (error) {
      return `refused:${(error as Error).name}`;
    }
  }
}
defineWorkflow(StoresMap, { name: 'StoresMap' });

class BadSignalName {
  async run(): Promise<unknown> {
    return Stent.waitForSignal(undefined as unknown as string);
  }
}
defineWorkflow(BadSignalName, { name: 'BadSignalName' });

describe.each(DIALECTS)('misc semantics on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => {
    for (const key of Object.keys(attempts)) delete attempts[key];
    running = maxRunning = 0;
    await harness?.dispose();
  });

  function instances() {
    const acts = new EdgeCaseActs();
    return [acts, new Declines(acts), new ReturnsCircular(), new Empties(acts), new EchoesLargeBlob(acts), new Interleaved(), new RaceTimeout(), new ParallelBusyCalls(acts), new BadSignalName(), new StoresMap()];
  }

  it('nonRetryable by class (subclass), by name, NonRetryableError and SerializationError fail after one attempt', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(Declines, []);
    const result = await harness.executor.waitFor(id, { timeout: '20s' });
    expect(result.value).toEqual([
      'ActivityFailedError/expired',
      'ActivityFailedError/fraud',
      'ActivityFailedError/marked',
      expect.stringMatching(/^ActivityFailedError\/Value at .* circular reference/),
    ]);
    expect(attempts).toEqual({ declinedByClass: 1, declinedByName: 1, declinedMarked: 1, circular: 1 });
  });

  it('a circular workflow result fails the execution with SerializationError', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(ReturnsCircular, []);
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    expect(result.state).toBe('failed');
    expect(result.error).toBeInstanceOf(SerializationError);
  });

  it('Stent.map over zero items and Promise.all of nothing resolve, and the journal stays consistent', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(Empties, []);
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    expect(result.value).toEqual({ mapped: [], all: [], after: 'after' });
    expect((await harness.executor.getJournal(id)).map((s) => s.position)).toEqual([0]);
  });

  it('a 3 MB argument and activity result round-trip', async () => {
    harness = await createHarness(dialect, instances());
    const blob = 'x'.repeat(3_000_000);
    const id = await harness.executor.dispatch(EchoesLargeBlob, [blob]);
    const result = await harness.executor.waitFor(id, { timeout: '20s' });
    expect(result.value).toBe(3_000_000);
  });

  it('signals of several names sent before the waits are consumed in order per name', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(Interleaved, []);
    for (const [name, payload] of [['b', 'b1'], ['a', 'a1'], ['a', 'a2'], ['b', 'b2'], ['a', 'a3']] as const) {
      await harness.executor.sendSignal(id, name, payload);
    }
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    expect(result.value).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
  });

  it('a signal racing a wait timeout is consumed exactly once (never lost, never twice)', async () => {
    harness = await createHarness(dialect, instances());
    for (const delay of [250, 290, 300, 310, 330]) {
      const id = await harness.executor.dispatch(RaceTimeout, []);
      await waitUntil(async () => (await harness.executor.getJournal(id)).length === 1, 'the first wait');
      await new Promise((resolve) => setTimeout(resolve, delay));
      await harness.executor.sendSignal(id, 's', 'payload');
      // Ends the second wait when the first took 'payload'; when the second took it, the run may be over.
      await harness.executor.sendSignal(id, 's', 'closer').catch((error: unknown) => {
        if (!(error instanceof ExecutionFinishedError)) throw error;
      });
      const result = await harness.executor.waitFor<unknown[]>(id, { timeout: '10s' });
      const got = (result.value as unknown[]).filter((v) => v === 'payload').length;
      expect({ delay, value: result.value, got }).toMatchObject({ got: 1 });
    }
  });

  it('20 concurrent dispatches with one idempotencyKey create one execution', async () => {
    harness = await createHarness(dialect, instances(), false);
    const ids = await Promise.all(Array.from({ length: 20 }, () => harness.executor.dispatch(Empties, [], { idempotencyKey: 'same-key' })));
    expect(new Set(ids).size).toBe(1);
    expect((await harness.executor.listExecutions({ workflowName: 'Empties' })).total).toBe(1);
  });

  it('worker concurrency 2 never runs more than 2 activity bodies at once', async () => {
    harness = await createHarness(dialect, instances(), { concurrency: 2, pollInterval: '20ms', maxPollInterval: '200ms', lease: '5s', suspendAfter: '300ms' });
    const id = await harness.executor.dispatch(ParallelBusyCalls, [8]);
    await harness.executor.waitFor(id, { timeout: '20s' });
    expect(maxRunning).toBeLessThanOrEqual(2);
  });

  it('bad input is refused with typed errors', async () => {
    harness = await createHarness(dialect, instances());
    await expect(harness.executor.dispatch(Empties, 'x' as never)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(harness.executor.sendSignal('whatever', undefined as unknown as string, 1)).rejects.toBeInstanceOf(ConfigurationError);
    const id = await harness.executor.dispatch(BadSignalName, []);
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    expect(result.error).toBeInstanceOf(ConfigurationError);
    await expect(harness.executor.retry(id.replace(/.$/, 'z'))).rejects.toBeInstanceOf(StentError);
  });

  it('dispatch refuses an empty queue name and non-array tags instead of storing an execution no worker can take', async () => {
    harness = await createHarness(dialect, instances());
    await expect(harness.executor.dispatch(Empties, [], { queue: '' })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(harness.executor.dispatch(Empties, [], { tags: 'gpu' as unknown as string[] })).rejects.toBeInstanceOf(ConfigurationError);
    expect((await harness.executor.listExecutions()).total).toBe(0);
  });

  it('Stent.setState refuses a Map instead of silently storing {}', async () => {
    harness = await createHarness(dialect, instances());
    const id = await harness.executor.dispatch(StoresMap, []);
    const result = await harness.executor.waitFor(id, { timeout: '10s' });
    const info = await harness.executor.getExecution(id);
    expect({ value: result.value, state: info.customState }).toEqual({ value: 'refused:SerializationError', state: {} });
  });
});
