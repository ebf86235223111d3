import { describe, expect, it } from 'vitest';
import type { StentStore } from 'nestjs-stent';
import { BACKENDS, connectPostgres, listenStatement, POSTGRES_URL } from '../support/databases.js';
import { capture } from '../support/statement-capture.js';
import { storeBench } from '../support/store-bench.js';
import { newExecution, newStep } from '../support/executions.js';
import { waitUntil } from '../support/wait.js';

/**
 * Writes of many runs at once in one statement on PostgreSQL (one commit), each still under its own fences.
 *
 * Executions that end at the same time in one process (a worker's runs finishing in one turn) are ended
 * together: on PostgreSQL in shared statements, each ending still conditional on its own fence and on every
 * result it carries being still owned, and announced by one NOTIFY per statement naming exactly the
 * executions that statement completed.
 */

type ExecutionFence = Parameters<StentStore['insertSteps']>[0];
type Completion = NonNullable<NonNullable<Parameters<StentStore['finishExecution']>[5]>['completions']>[number];

const OWNER = 'ending-worker';
/** Step ids are numbered (an execution id may be as long as a step id may be). */
let steps = 0;
const ENDINGS = 12;

/** Execution `id`, claimed by OWNER, with one activity step running under OWNER's lease: what an ending carries. */
async function runningExecution(store: StentStore, id: string, now: number): Promise<{ fence: ExecutionFence; result: Completion }> {
  await store.createExecution(newExecution(id, now, { claimedBy: { owner: OWNER, leaseExpiresAt: now + 60_000 } }));
  const execution = await store.getExecution(id);
  expect(execution?.leaseOwner).toBe(OWNER);
  const fence = { executionId: id, owner: OWNER, epoch: execution!.leaseEpoch };
  // Inserted already claimed, as a worker that runs it at once inserts it.
  const step = newStep(`step-${++steps}`, id, 0, now, { state: 'running', claimedBy: { owner: OWNER, leaseExpiresAt: now + 60_000 } });
  expect(await store.insertSteps(fence, [step])).toBe(true);
  const [running] = await store.loadJournal(id);
  expect(running?.state).toBe('running');
  return { fence, result: { fence: { stepId: step.id, owner: OWNER, epoch: running!.leaseEpoch }, result: `"r-${id}"`, finishedAt: now } };
}

describe.each(BACKENDS)('executions ending at once on %s', (dialect) => {
  const open = storeBench(dialect);

  it('each ends only under its own fence and with its own results still owned, whatever ends beside it', async () => {
    const { store, inspector, db } = await open();
    const now = Date.now();
    const runs = await Promise.all(Array.from({ length: ENDINGS }, (_, i) => runningExecution(store, `end-${i}`, now)));
    // Two of them can no longer end: one's lease moved on (a stale epoch), one carries a result whose step lease is gone.
    const staleFence = 3;
    const staleResult = 7;
    const fences = runs.map(({ fence }, i) => (i === staleFence ? { ...fence, epoch: fence.epoch + 1 } : fence));
    const results = runs.map(({ result }, i) => (i === staleResult ? { ...result, fence: { ...result.fence, epoch: result.fence.epoch + 1 } } : result));

    const listener = dialect === 'postgres' ? await connectPostgres(POSTGRES_URL) : undefined;
    const heard: string[] = [];
    let notifications = 0;
    try {
      if (listener) {
        listener.on('notification', (message) => {
          notifications++;
          for (const event of (JSON.parse(message.payload ?? '{}') as { e: Array<{ type: string; executionId?: string }> }).e) if (event.type === 'finished') heard.push(event.executionId!);
        });
        await listener.query(listenStatement(db.schema!));
      }
      let ended: boolean[] = [];
      const sent = await capture(async () => {
        ended = await Promise.all(
          runs.map(({ fence }, i) => store.finishExecution(fences[i]!, 'completed', `"done-${fence.executionId}"`, null, now, { hasParent: false, leftovers: false, completions: [results[i]!] })),
        );
      });
      const expected = runs.map((_, i) => i !== staleFence && i !== staleResult);
      expect(ended).toEqual(expected);

      const rows = await inspector.query<{ id: string; state: string; result: string | null }>(`SELECT id, state, result FROM ${inspector.t.executions} ORDER BY id`);
      const byId = new Map(rows.map((row) => [row.id, row]));
      runs.forEach(({ fence }, i) => {
        const row = byId.get(fence.executionId)!;
        expect(row.state, fence.executionId).toBe(expected[i] ? 'completed' : 'running');
        expect(row.result).toBe(expected[i] ? `"done-${fence.executionId}"` : null);
      });
      // The results of those that ended are recorded; a stale ending records none it would have carried alone
      // beyond its own still-owned step (the statement is one transaction: results stand or fall with the ending).
      const steps = await inspector.query<{ id: string; state: string }>(`SELECT id, state FROM ${inspector.t.steps}`);
      const stepState = new Map(steps.map((step) => [step.id, step.state]));
      runs.forEach(({ result }, i) => {
        if (expected[i]) expect(stepState.get(result.fence.stepId)).toBe('completed');
      });
      expect(stepState.get(runs[staleResult]!.result.fence.stepId)).toBe('running');

      if (dialect === 'postgres') {
        const endings = sent.filter(({ sql }) => /UPDATE\s+\S*stent_executions/i.test(sql) && /completed/.test(sql));
        // Sent while one statement was on its way, the endings share the next: two statements at most, not one each.
        expect(endings.length, `${endings.length} statements ended ${ENDINGS} executions`).toBeLessThanOrEqual(2);
        expect(sent.filter(({ sql }) => /^\s*SELECT pg_notify/i.test(sql))).toEqual([]);
        const completed = runs.filter((_, i) => expected[i]).map(({ fence }) => fence.executionId);
        await waitUntil(() => heard.length >= completed.length, "the 'finished' notifications");
        // Exactly the executions completed, in one notification per statement.
        expect([...heard].sort()).toEqual([...completed].sort());
        expect(notifications).toBeLessThanOrEqual(endings.length);
      }
    } finally {
      await listener?.end().catch(() => undefined);
    }
  });
});

describe('endings of long execution ids at once on postgres', () => {
  const open = storeBench('postgres');

  it("share statements only as far as one NOTIFY can name them all (its payload stays under PostgreSQL's 8,000 bytes)", async () => {
    const { store, db } = await open();
    const now = Date.now();
    // 128 characters of 3 bytes each (the longest id a dispatch takes): about 430 bytes an event, 55 of them 24 KB.
    const ids = Array.from({ length: 55 }, (_, i) => `${String(i).padStart(3, '0')}${'\u20ac'.repeat(125)}`);
    const runs = await Promise.all(ids.map((id) => runningExecution(store, id, now)));
    const listener = await connectPostgres(POSTGRES_URL);
    const heard = new Set<string>();
    try {
      listener.on('notification', (message) => {
        for (const event of (JSON.parse(message.payload ?? '{}') as { e: Array<{ type: string; executionId?: string }> }).e) if (event.type === 'finished') heard.add(event.executionId!);
      });
      await listener.query(listenStatement(db.schema!));
      let ended: boolean[] = [];
      const sent = await capture(async () => {
        ended = await Promise.all(runs.map(({ fence, result }) => store.finishExecution(fence, 'completed', '1', null, now, { hasParent: false, leftovers: false, completions: [result] })));
      });
      expect(ended.every(Boolean)).toBe(true);
      const endings = sent.filter(({ sql }) => /UPDATE\s+\S*stent_executions/i.test(sql));
      // About 16 endings a statement; a statement whose NOTIFY were refused would be sent again ending by ending.
      expect(endings.length, `${endings.length} statements ended ${ids.length} executions`).toBeGreaterThanOrEqual(4);
      expect(endings.length).toBeLessThanOrEqual(6);
      await waitUntil(() => heard.size >= ids.length, "every 'finished' notification");
      expect([...heard].sort()).toEqual([...ids].sort());
    } finally {
      await listener.end().catch(() => undefined);
    }
  });
});

describe.each(BACKENDS)('a batch of results recorded at once on %s', (dialect) => {
  const open = storeBench(dialect);

  it('records each result under its own step lease and wakes the executions nobody holds, or asked to', async () => {
    const { store, inspector } = await open();
    const now = Date.now();
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => runningExecution(store, `batch-${i}`, now)));
    // Executions 0-2 are suspended (nobody holds them; due in an hour): a result must wake them.
    const later = now + 3_600_000;
    for (const { fence } of runs.slice(0, 3)) expect(await store.suspendExecution(fence, later, [], [], now)).toBe(true);
    const staleStep = 5;
    const forced = 4;
    const completions = runs.map(({ fence, result }, i) => ({
      fence: i === staleStep ? { ...result.fence, epoch: result.fence.epoch + 1 } : result.fence,
      executionId: fence.executionId,
      outcome: { kind: 'completed' as const, result: result.result },
      finishedAt: now + 1,
      wakeExecution: i === forced,
    }));
    const wakeBefore = new Map(
      (await inspector.query<{ id: string; wake_at: unknown }>(`SELECT id, wake_at FROM ${inspector.t.executions}`)).map((row) => [row.id, row.wake_at === null ? null : Number(row.wake_at)]),
    );
    let owned: boolean[] = [];
    const sent = await capture(async () => {
      owned = await store.completeSteps(completions);
    });
    expect(owned).toEqual([true, true, true, true, true, false]);
    const steps = new Map((await inspector.query<{ id: string; state: string; result: string | null }>(`SELECT id, state, result FROM ${inspector.t.steps}`)).map((row) => [row.id, row]));
    runs.forEach(({ result }, i) => {
      expect(steps.get(result.fence.stepId)?.state).toBe(i === staleStep ? 'running' : 'completed');
      if (i !== staleStep) expect(steps.get(result.fence.stepId)?.result).toBe(result.result);
    });
    const wakeAfter = new Map(
      (await inspector.query<{ id: string; wake_at: unknown }>(`SELECT id, wake_at FROM ${inspector.t.executions}`)).map((row) => [row.id, row.wake_at === null ? null : Number(row.wake_at)]),
    );
    runs.forEach(({ fence }, i) => {
      const woken = i < 3 || i === forced;
      expect(wakeAfter.get(fence.executionId), `wake time of execution ${i}`).toBe(woken ? now + 1 : wakeBefore.get(fence.executionId));
    });
    if (dialect === 'postgres') {
      // One statement: no BEGIN, the results, the wake-ups and COMMIT sent one by one.
      expect(sent.map(({ sql }) => sql.trim().split(/\s+/)[0])).toEqual(['WITH']);
    }
  });
});

describe('pending steps inserted at once on postgres', () => {
  const open = storeBench('postgres');

  it('are announced as work by the statement that inserts them, with its commit, not by a NOTIFY of their own', async () => {
    const { store, db } = await open();
    const now = Date.now();
    const fences = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const id = `waiting-${i}`;
        await store.createExecution(newExecution(id, now, { claimedBy: { owner: OWNER, leaseExpiresAt: now + 60_000 } }));
        return { executionId: id, owner: OWNER, epoch: (await store.getExecution(id))!.leaseEpoch };
      }),
    );
    const listener = await connectPostgres(POSTGRES_URL);
    const heard: string[] = [];
    try {
      listener.on('notification', (message) => {
        for (const event of (JSON.parse(message.payload ?? '{}') as { e: Array<{ type: string }> }).e) heard.push(event.type);
      });
      await listener.query(listenStatement(db.schema!));
      const sent = await capture(async () => {
        const inserted = await Promise.all(
          fences.map((fence) =>
            // Left to claims: another worker should hear of it.
            store.insertSteps(fence, [newStep(`pending-${++steps}`, fence.executionId, 0, now)]),
          ),
        );
        expect(inserted.every(Boolean)).toBe(true);
        // The bus sends what it was not told was carried a turn later: wait past it before looking.
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
      });
      const inserts = sent.filter(({ sql }) => /INSERT INTO\s+\S*stent_steps/i.test(sql));
      expect(inserts.length).toBeLessThanOrEqual(2);
      expect(inserts.every(({ sql }) => /pg_notify/.test(sql))).toBe(true);
      expect(sent.filter(({ sql }) => /^\s*SELECT pg_notify/i.test(sql))).toEqual([]);
      await waitUntil(() => heard.includes('work'), "the 'work' notification");
    } finally {
      await listener.end().catch(() => undefined);
    }
  });
});
