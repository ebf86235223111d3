import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, NotInWorkflowError, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, REPLAYING_WORKER, FAST_WORKER, type Harness } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

// ---- recorded values ---------------------------------------------------------------------------------

interface Recorded {
  now: string;
  uuid: string;
  random: number;
}

/** Notes the values it got on every run (the first run and each replay) in an outside map. */
class Recorder {
  constructor(private readonly runs: Map<string, Recorded[]>) {}
  async run(): Promise<Recorded & { go: string }> {
    const values: Recorded = { now: Stent.now().toISOString(), uuid: Stent.uuid(), random: Stent.random() };
    const id = Stent.executionId();
    this.runs.set(id, [...(this.runs.get(id) ?? []), values]);
    const go = await Stent.waitForSignal<string>('go');
    return { ...values, go };
  }
}
defineWorkflow(Recorder);

// ---- counters, progress, custom state ------------------------------------------------------------------

class Tally {
  constructor(private readonly runs: Map<string, number>) {}
  async run(): Promise<string> {
    const id = Stent.executionId();
    this.runs.set(id, (this.runs.get(id) ?? 0) + 1);
    Stent.incrementCounter('items', 2);
    Stent.incrementCounter('items');
    Stent.incrementCounter('bytes', 1024);
    Stent.setProgress({ step: 1, of: 2 });
    Stent.setState('phase', 'waiting');
    await Stent.waitForSignal('go');
    Stent.incrementCounter('items', 10);
    Stent.setProgress({ step: 2, of: 2 });
    Stent.setState('phase', 'done');
    Stent.setState('note', { by: 'signal' });
    return 'tallied';
  }
}
defineWorkflow(Tally);

// ---- Stent.activity() ------------------------------------------------------------------------------------

interface SeenAttempt {
  attempt: number;
  executionId: string;
  activityName: string;
  position: number;
  signalIsAbortSignal: boolean;
  aborted: boolean;
  heartbeatReturned: unknown;
  workflowHelperError: string;
}

class Introspect {
  readonly seen: SeenAttempt[] = [];
  async inspect(failures: number): Promise<SeenAttempt> {
    const scope = Stent.activity();
    let workflowHelperError = 'none';
    try {
      Stent.now();
    } catch (error) {
      workflowHelperError = (error as Error).constructor.name;
    }
    const seen: SeenAttempt = {
      attempt: scope.attempt,
      executionId: scope.executionId,
      activityName: scope.activityName,
      position: scope.position,
      signalIsAbortSignal: scope.signal instanceof AbortSignal,
      aborted: scope.signal.aborted,
      heartbeatReturned: scope.heartbeat(),
      workflowHelperError,
    };
    this.seen.push(seen);
    if (scope.attempt <= failures) throw new Error(`attempt ${scope.attempt} fails on purpose`);
    return seen;
  }
}
defineActivity(Introspect, { retry: { maxAttempts: 3, initialDelay: '20ms', jitter: false } });

class IntrospectFlow {
  constructor(private readonly introspect: Introspect) {}
  async run(failures: number): Promise<{ workflowId: string; activityInWorkflow: string; seen: SeenAttempt }> {
    const workflowId = Stent.executionId();
    let activityInWorkflow = 'none';
    try {
      Stent.activity();
    } catch (error) {
      activityInWorkflow = (error as Error).constructor.name;
    }
    Stent.uuid(); // position 0, so the activity takes position 1
    const seen = await this.introspect.inspect(failures);
    return { workflowId, activityInWorkflow, seen };
  }
}
defineWorkflow(IntrospectFlow);

/** Runs for ~3s, twice the lease of the worker below; keeps its lease with heartbeat() when asked. */
class LongHaul {
  runs = 0;
  async haul(beat: boolean): Promise<string> {
    this.runs++;
    const scope = Stent.activity();
    const end = Date.now() + 3000;
    while (Date.now() < end && !scope.signal.aborted) {
      if (beat) scope.heartbeat();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return `hauled (beat: ${beat})`;
  }
}
defineActivity(LongHaul, { retry: { maxAttempts: 1 } });

class HaulFlow {
  constructor(private readonly longHaul: LongHaul) {}
  async run(beat: boolean): Promise<string> {
    return this.longHaul.haul(beat);
  }
}
defineWorkflow(HaulFlow);

/** Lease of 1.5s and the worker's own lease renewal pushed out of the test's reach. */
const NO_AUTO_RENEW = { ...FAST_WORKER, lease: '1500ms', heartbeat: '1h' };

describe.each(DIALECTS)('recorded values and helpers on %s', (dialect) => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.dispose();
    harness = undefined;
  });

  async function suspended(h: Harness, id: string, journalLength: number): Promise<void> {
    await waitUntil(async () => {
      const info = await h.executor.getExecution(id);
      return info.leaseOwner === null && info.state === 'running' && (await h.executor.getJournal(id)).length === journalLength;
    }, `execution ${id} to be suspended`);
  }

  it('Stent.now(), uuid() and random() return the same values when the workflow is replayed', async () => {
    const runs = new Map<string, Recorded[]>();
    const h = (harness = await createHarness(dialect, [new Recorder(runs)], REPLAYING_WORKER));
    const a = await h.executor.dispatch(Recorder, []);
    const b = await h.executor.dispatch(Recorder, []);
    // suspendAfter is 300ms in the harness: once suspended, the signal brings the workflow back by replay
    await suspended(h, a, 4);
    await suspended(h, b, 4);
    expect(runs.get(a)).toHaveLength(1);
    await h.executor.sendSignal(a, 'go', 'a');
    await h.executor.sendSignal(b, 'go', 'b');
    const resultA = await h.executor.waitFor(a, { timeout: '30s' });
    const resultB = await h.executor.waitFor(b, { timeout: '30s' });

    const [firstA, replayA] = runs.get(a)!;
    expect(runs.get(a), 'the workflow was replayed').toHaveLength(2);
    expect(replayA).toEqual(firstA);
    expect(resultA.value).toEqual({ ...firstA, go: 'a' });
    expect(firstA!.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(firstA!.random).toBeGreaterThanOrEqual(0);
    expect(firstA!.random).toBeLessThan(1);

    // each execution records its own values
    expect(runs.get(b)).toHaveLength(2);
    expect(resultB.value).toEqual({ ...runs.get(b)![0], go: 'b' });
    expect(runs.get(b)![0]!.uuid).not.toBe(firstA!.uuid);

    const journal = await h.executor.getJournal(a);
    expect(journal.map((s) => [s.kind, s.name])).toEqual([
      ['value', 'now'],
      ['value', 'uuid'],
      ['value', 'random'],
      ['signal', 'go'],
    ]);
  });

  it('counters, progress and custom state set by a workflow are visible through getExecution and not applied twice on replay', async () => {
    const runs = new Map<string, number>();
    const h = (harness = await createHarness(dialect, [new Tally(runs)], REPLAYING_WORKER));
    const id = await h.executor.dispatch(Tally, []);
    await suspended(h, id, 6);
    const waiting = await h.executor.getExecution(id);
    expect(waiting.counters).toEqual({ items: 3, bytes: 1024 });
    expect(waiting.progress).toEqual({ step: 1, of: 2 });
    expect(waiting.customState).toEqual({ phase: 'waiting' });

    await h.executor.sendSignal(id, 'go');
    const result = await h.executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toBe('tallied');
    expect(runs.get(id), 'the workflow was replayed').toBe(2);
    const done = await h.executor.getExecution(id);
    expect(done.counters).toEqual({ items: 13, bytes: 1024 });
    expect(done.progress).toEqual({ step: 2, of: 2 });
    expect(done.customState).toEqual({ phase: 'done', note: { by: 'signal' } });
  });

  it('Stent.activity() gives the attempt number, execution id, activity name, an AbortSignal and heartbeat()', async () => {
    const introspect = new Introspect();
    const h = (harness = await createHarness(dialect, [introspect, new IntrospectFlow(introspect)]));
    const id = await h.executor.dispatch(IntrospectFlow, [1]);
    const result = await h.executor.waitFor(id, { timeout: '30s' });
    expect(result.ok).toBe(true);
    const value = result.value as { workflowId: string; activityInWorkflow: string; seen: SeenAttempt };
    expect(value.workflowId).toBe(id);
    expect(value.activityInWorkflow).toBe('NotInWorkflowError');
    expect(introspect.seen.map((s) => s.attempt)).toEqual([1, 2]);
    for (const seen of introspect.seen) {
      expect(seen).toMatchObject({
        executionId: id,
        activityName: 'Introspect.inspect',
        position: 1,
        signalIsAbortSignal: true,
        aborted: false,
        heartbeatReturned: undefined,
        workflowHelperError: 'NotInWorkflowError',
      });
    }
    expect(value.seen.attempt).toBe(2);
  });

  it('heartbeat() keeps the lease of an activity that runs longer than the lease', async () => {
    const longHaul = new LongHaul();
    const h = (harness = await createHarness(dialect, [longHaul, new HaulFlow(longHaul)], NO_AUTO_RENEW));
    const id = await h.executor.dispatch(HaulFlow, [true]);
    const result = await h.executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toBe('hauled (beat: true)');
    expect(longHaul.runs).toBe(1);
    expect((await h.executor.getJournal(id))[0]).toMatchObject({ state: 'completed', attempts: 1 });
  });

  it('(control) without heartbeat() the same activity loses its lease and is run again', async () => {
    const longHaul = new LongHaul();
    const h = (harness = await createHarness(dialect, [longHaul, new HaulFlow(longHaul)], NO_AUTO_RENEW));
    await h.executor.dispatch(HaulFlow, [false]);
    await waitUntil(() => longHaul.runs >= 2, 'the activity to be reclaimed after its lease expired');
  });

  it('Stent helpers outside a workflow throw NotInWorkflowError', async () => {
    expect(() => Stent.now()).toThrow(NotInWorkflowError);
    expect(() => Stent.uuid()).toThrow(NotInWorkflowError);
    expect(() => Stent.random()).toThrow(NotInWorkflowError);
    expect(() => Stent.executionId()).toThrow(NotInWorkflowError);
    expect(() => Stent.setProgress({ step: 1 })).toThrow(NotInWorkflowError);
    expect(() => Stent.incrementCounter('n')).toThrow(NotInWorkflowError);
    expect(() => Stent.setState('k', 'v')).toThrow(NotInWorkflowError);
    expect(() => Stent.activity()).toThrow(NotInWorkflowError);
    await expect(async () => Stent.sleep('1s')).rejects.toBeInstanceOf(NotInWorkflowError);
    await expect(async () => Stent.waitForSignal('go')).rejects.toBeInstanceOf(NotInWorkflowError);
    expect(() => Stent.now()).toThrow(/Stent\.now can only be called inside a running workflow/);
    expect(Stent.inWorkflow()).toBe(false);
    // an activity method called outside a workflow is a plain call
    const seen = new Introspect();
    await expect(seen.inspect(0)).rejects.toBeInstanceOf(NotInWorkflowError);
  });
});
