import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, NotInWorkflowError, Stent } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, FAST_WORKER } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/** What code left running by a workflow (a timer it started) observed after its run ended. */
class Observations {
  readonly calls: Array<Promise<unknown>> = [];
  readonly settled: Array<{ ok: boolean; value: unknown }> = [];
  readonly helperErrors: unknown[] = [];
  bodies = 0;
  track(promise: Promise<unknown>): void {
    this.calls.push(promise);
    promise.then(
      (value) => this.settled.push({ ok: true, value }),
      (value: unknown) => this.settled.push({ ok: false, value }),
    );
  }
}

class LateActs {
  constructor(private readonly seen: Observations) {}
  async echo(text: string): Promise<string> {
    this.seen.bodies++;
    return text;
  }
}
defineActivity(LateActs, { name: 'LateActs' });

/** A workflow with the activities and the test's observations. */
abstract class LateFlow {
  constructor(
    protected readonly acts: LateActs,
    protected readonly seen: Observations,
  ) {}
}

/** Finishes at once, leaving a timer behind that makes a durable call and uses a helper. */
class FinishesEarly extends LateFlow {
  async run(delayMs: number): Promise<string> {
    setTimeout(() => {
      this.seen.track(this.acts.echo('late') as Promise<unknown>);
      try {
        Stent.now();
      } catch (error) {
        this.seen.helperErrors.push(error);
      }
    }, delayMs);
    return 'done';
  }
}
defineWorkflow(FinishesEarly, { name: 'LateFinishesEarly' });

/** Suspends waiting for a signal; a timer it started fires while it is suspended. */
class SuspendsFirst extends LateFlow {
  async run(delayMs: number): Promise<string> {
    const timer = setTimeout(() => this.seen.track(this.acts.echo('stray') as Promise<unknown>), delayMs);
    const word = await Stent.waitForSignal<string>('word');
    clearTimeout(timer);
    return this.acts.echo(word);
  }
}
defineWorkflow(SuspendsFirst, { name: 'LateSuspendsFirst' });

describe.each(DIALECTS)('durable calls after their run ended on %s', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => set?.dispose());

  async function start(seen: Observations) {
    set = await ExecutorSet.create(dialect);
    const acts = new LateActs(seen);
    return set.executor([acts, new FinishesEarly(acts, seen), new SuspendsFirst(acts, seen)], FAST_WORKER);
  }

  it('a call from a timer that outlived a finished run is refused at once with NotInWorkflowError, and nothing runs', async () => {
    const seen = new Observations();
    const executor = await start(seen);
    const id = await executor.dispatch(FinishesEarly, [150]);
    expect((await executor.waitFor(id, { timeout: '20s' })).value).toBe('done');
    await waitUntil(() => seen.settled.length === 1, 'the late call to settle');
    const [late] = seen.settled;
    expect(late!.ok).toBe(false);
    expect(late!.value).toBeInstanceOf(NotInWorkflowError);
    expect(late!.value).toMatchObject({ code: 'STENT_NOT_IN_WORKFLOW', afterRunEnded: true });
    expect(seen.helperErrors).toHaveLength(1);
    expect(seen.helperErrors[0]).toMatchObject({ code: 'STENT_NOT_IN_WORKFLOW', afterRunEnded: true });
    expect(seen.bodies).toBe(0);
    expect((await executor.getJournal(id)).map((step) => step.name)).toEqual([]);
    expect(set.logger.lines.some((line) => line.level === 'warn' && line.message.includes(id) && line.message.includes('LateActs.echo'))).toBe(true);
  });

  it('a call from a timer that fires while its run is suspended is refused; the execution resumes and completes', async () => {
    const seen = new Observations();
    const executor = await start(seen);
    const id = await executor.dispatch(SuspendsFirst, [1000]);
    await waitUntil(async () => (await executor.getExecution(id)).leaseOwner === null && (await executor.getJournal(id)).length === 1, 'the run to suspend');
    await waitUntil(() => seen.settled.length === 1, 'the stray call to settle');
    expect(seen.settled[0]).toMatchObject({ ok: false, value: { code: 'STENT_NOT_IN_WORKFLOW' } });
    await executor.sendSignal(id, 'word', 'hello');
    expect((await executor.waitFor(id, { timeout: '20s' })).value).toBe('hello');
    expect(seen.bodies).toBe(1);
    expect((await executor.getJournal(id)).map((step) => step.name)).toEqual(['word', 'LateActs.echo']);
  });
});
