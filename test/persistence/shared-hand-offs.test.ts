import { describe, expect, it } from 'vitest';
import type { StentStore } from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { capture } from '../support/statement-capture.js';
import { planOf } from '../support/statement-plans.js';
import { storeBench } from '../support/store-bench.js';
import { newExecution, newStep } from '../support/executions.js';

/**
 * Executions whose last keyed step hands its slot off (see SlotHandOff) ending at once: on PostgreSQL they
 * share statements with each other (one commit for many), each starting its key's next step under the
 * conditions it has alone, and two hand-offs of one key take its two next steps, one each. A hand-off
 * that prefers its worker's own executions looks for one only among the key's first 64 waiting steps.
 */

type NewStep = Parameters<StentStore['insertSteps']>[1][number];
type ExecutionFence = Parameters<StentStore['insertSteps']>[0];
type HandOff = NonNullable<Parameters<StentStore['finishHandingOff']>[6]>;
type Completion = NonNullable<NonNullable<Parameters<StentStore['finishExecution']>[5]>['completions']>[number];

const ENDER = 'ending-worker';
const WAITER = 'waiting-worker';
const KEYED = 'Tenants.sync';
let steps = 0;

function keyedStep(executionId: string, key: string, now: number, claimedBy?: { owner: string; leaseExpiresAt: number }, priority = 0): NewStep {
  return newStep(`step-${++steps}`, executionId, 0, now, { name: KEYED, priority, concurrencyKey: key, ...(claimedBy ? { state: 'running', claimedBy } : {}) });
}

/** An execution claimed by `owner` with one keyed step, running under `owner`'s lease or pending. */
async function executionWithStep(store: StentStore, id: string, owner: string, key: string, now: number, running: boolean, priority = 0): Promise<{ fence: ExecutionFence; step: NewStep; epoch: number }> {
  const lease = { owner, leaseExpiresAt: now + 60_000 };
  await store.createExecution(newExecution(id, now, { claimedBy: lease }));
  const execution = await store.getExecution(id);
  const fence = { executionId: id, owner, epoch: execution!.leaseEpoch };
  const step = keyedStep(id, key, now, running ? lease : undefined, priority);
  expect(await store.insertSteps(fence, [step])).toBe(true);
  const [row] = await store.loadJournal(id);
  return { fence, step, epoch: row!.leaseEpoch };
}

function handOffOf(stepId: string, key: string, now: number): HandOff {
  return { filter: { owner: ENDER, queues: ['default'], tags: [], now, leaseMs: 60_000, preferHeld: false }, slots: [{ stepId, name: KEYED, key }] };
}

describe.each(BACKENDS)('endings that hand keyed slots off, at once, on %s', (dialect) => {
  const open = storeBench(dialect);

  it("each starts its own key's next step, two of one key never the same one, and on PostgreSQL they share statements", async () => {
    const { store, inspector } = await open();
    const now = Date.now();
    // Eight endings over six keys: keys k0 and k1 end twice each (two slots of a limit of 2, say).
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k0', 'k1'];
    const enders = await Promise.all(keys.map((key, i) => executionWithStep(store, `end-${i}`, ENDER, key, now, true)));
    // Each key has two steps waiting (another worker's executions): the older one first, then the newer,
    // except k2, whose newer step has the higher priority and goes first.
    const waiting = new Map<string, string[]>();
    for (const key of new Set(keys)) {
      const older = await executionWithStep(store, `wait-${key}-a`, WAITER, key, now - 10, false);
      const newer = await executionWithStep(store, `wait-${key}-b`, WAITER, key, now - 5, false, key === 'k2' ? 5 : 0);
      waiting.set(key, key === 'k2' ? [newer.step.id, older.step.id] : [older.step.id, newer.step.id]);
    }
    // One ending's fence is stale (its lease moved on): it does not end, but its result is recorded and its
    // slot still goes on (the step ended, whatever happens to its execution).
    const stale = 4;
    const outcomes: Array<{ ok: boolean; started: Array<{ id: string; leaseOwner: string | null; state: string }> }> = [];
    const sent = await capture(async () => {
      const ended = await Promise.all(
        enders.map(({ fence, step, epoch }, i) => {
          const completion: Completion = { fence: { stepId: step.id, owner: ENDER, epoch }, result: `"r${i}"`, finishedAt: now };
          const ownFence = i === stale ? { ...fence, epoch: fence.epoch + 1 } : fence;
          return store.finishHandingOff(ownFence, 'completed', `"done-${i}"`, null, now, { hasParent: false, leftovers: false, completions: [completion] }, handOffOf(step.id, keys[i]!, now));
        }),
      );
      outcomes.push(...ended);
    });

    expect(outcomes.map((outcome) => outcome.ok)).toEqual(keys.map((_, i) => i !== stale));
    // Every ending started exactly one step, the next of its key in claim order; the two endings of k0 (and
    // of k1) started the key's two waiting steps, one each.
    outcomes.forEach((outcome, i) => {
      expect(outcome.started, `ending ${i}`).toHaveLength(1);
      expect(outcome.started[0]!.state).toBe('running');
      expect(outcome.started[0]!.leaseOwner).toBe(ENDER);
    });
    for (const key of new Set(keys)) {
      const started = outcomes.filter((_, i) => keys[i] === key).map((outcome) => outcome.started[0]!.id);
      const expected = waiting.get(key)!.slice(0, started.length);
      expect(started.sort(), key).toEqual([...expected].sort());
    }
    expect(outcomes.find((_, i) => keys[i] === 'k2')!.started[0]!.id).toBe(waiting.get('k2')![0]);

    // What the database holds agrees: the enders' steps completed, the started steps running under ENDER.
    const rows = await inspector.query<{ id: string; state: string; lease_owner: string | null }>(`SELECT id, state, lease_owner FROM ${inspector.t.steps}`);
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const { step } of enders) expect(byId.get(step.id)!.state).toBe('completed');
    const runningHere = rows.filter((row) => row.state === 'running' && row.lease_owner === ENDER).map((row) => row.id);
    expect(runningHere.sort()).toEqual(outcomes.map((outcome) => outcome.started[0]!.id).sort());

    if (dialect === 'postgres') {
      const endings = sent.filter(({ sql }) => /UPDATE\s+\S*stent_executions/i.test(sql) && /completed/.test(sql));
      // Sent while one statement was on its way, the endings share the next: two statements at most, not one each.
      expect(endings.length, `${endings.length} statements ended ${keys.length} executions`).toBeLessThanOrEqual(2);
    }
  });

  it('builds the NOTIFY of a statement that ends executions once: one list of the completed executions on PostgreSQL', async () => {
    const { store, inspector } = await open();
    const now = Date.now();
    const { fence, step, epoch } = await executionWithStep(store, 'noted', ENDER, 'k', now, true);
    const completion: Completion = { fence: { stepId: step.id, owner: ENDER, epoch }, result: '"r"', finishedAt: now };
    const sent = await capture(async () => {
      const ended = await store.finishHandingOff(fence, 'completed', '"noted"', null, now, { hasParent: false, leftovers: false, completions: [completion] }, handOffOf(step.id, 'k', now));
      expect(ended.ok).toBe(true);
    });
    expect((await store.getExecution('noted'))?.state).toBe('completed');
    if (dialect !== 'postgres') return;
    const endings = sent.filter(({ sql }) => /pg_notify/.test(sql));
    expect(endings, sent.map(({ sql }) => sql).join('\n\n')).toHaveLength(1);
    for (const generic of [false, true]) {
      const plan = await planOf(inspector, endings[0]!, generic);
      // The list is read from `fin` once in the NOTIFY, and `fin` once more where the statement returns its rows.
      expect(plan.filter((line) => /CTE Scan on fin\b/.test(line)), plan.join('\n')).toHaveLength(2);
    }
  });

  it("looks for a step of an execution the ender holds among the key's first 64 waiting steps, at their head or behind it, not past them", async () => {
    const { store } = await open();
    const now = Date.now();
    const [ender, second, third] = [
      await executionWithStep(store, 'end-a', ENDER, 'k', now, true),
      await executionWithStep(store, 'end-b', ENDER, 'k', now, true),
      await executionWithStep(store, 'end-c', ENDER, 'k', now, true),
    ];
    // 70 steps of another worker's executions wait, oldest first, then one of an execution the ender holds.
    const waiting: string[] = [];
    for (let i = 0; i < 70; i++) waiting.push((await executionWithStep(store, `wait-${i}`, WAITER, 'k', now - 1_000 + i, false)).step.id);
    const late = await executionWithStep(store, 'held-late', ENDER, 'k', now - 1_000 + 70, false);
    const preferHeld = (handOff: HandOff): HandOff => ({ ...handOff, filter: { ...handOff.filter, preferHeld: true } });
    const end = async ({ fence, step, epoch }: typeof ender, id: string) => {
      const completion: Completion = { fence: { stepId: step.id, owner: ENDER, epoch }, result: '"r"', finishedAt: now };
      return store.finishHandingOff(fence, 'completed', `"${id}"`, null, now, { hasParent: false, leftovers: false, completions: [completion] }, preferHeld(handOffOf(step.id, 'k', now)));
    };
    // The held step is 71st in claim order, past the window: the slot goes to the oldest, as a claim's would.
    const first = await end(ender, 'a');
    expect(first.started.map((step) => step.id)).toEqual([waiting[0]]);
    // One of the ender's executions waiting within the window goes first.
    const early = await executionWithStep(store, 'held-early', ENDER, 'k', now - 2_000, false);
    const next = await end(second, 'b');
    expect(next.started.map((step) => step.id)).toEqual([early.step.id]);
    expect(late.step.id).not.toBe(early.step.id);
    // One within the window behind the key's first step (another worker's) goes before that first step.
    const middle = await executionWithStep(store, 'held-middle', ENDER, 'k', now - 1_000 + 10, false);
    const last = await end(third, 'c');
    expect(last.started.map((step) => step.id)).toEqual([middle.step.id]);
  });
});
