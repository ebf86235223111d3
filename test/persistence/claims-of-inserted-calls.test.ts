import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { aesGcmCodec, createStentStore, defineActivity, defineWorkflow, StentExecutor, type StentStore } from 'nestjs-stent';
import { BACKENDS, createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { MemoryLogger, QUICK_WORKER } from '../support/executor-set.js';
import { allStoredText } from '../support/table-rows.js';
import { storeBench } from '../support/store-bench.js';
import { claimedExecution, newStep } from '../support/executions.js';
import { capture } from '../support/statement-capture.js';

/**
 * A claim of steps hands the worker each step's whole record. On SQLite a claim of steps this store
 * inserted reads back only the columns that change after an insert and takes the rest from the calls it
 * wrote; steps another connection inserted are read whole. Either way the record is the row as the journal
 * reads it after the claim.
 */

type NewStep = Parameters<StentStore['insertSteps']>[1][number];

const NAME = 'Acts.work';

/** Pending steps that differ in every column a call sets. */
function varied(executionId: string, now: number): NewStep[] {
  return [
    newStep(`${executionId}-a`, executionId, 0, now - 3, { args: '[1,"one"]', priority: 2, tags: ['t1', 't2'], callTurn: 1 }),
    newStep(`${executionId}-b`, executionId, 1, now - 2, {
      args: '[{"deep":[true,null]}]',
      retryPolicy: { maxAttempts: 5, initialDelayMs: 250, backoffFactor: 3, maxDelayMs: 60_000, jitter: 0, nonRetryable: ['TypeError'] },
      timeoutMs: 1_500,
      callTurn: 2,
    }),
    newStep(`${executionId}-c`, executionId, 2, now - 1, { args: null, fireAt: now + 10_000, callTurn: 2 }),
  ];
}

function claimAll(owner: string, now: number) {
  return { owner, names: [NAME], queues: ['default'], tags: [], limit: 10, now, leaseMs: 30_000, limits: new Map<string, number>() };
}

describe.each(BACKENDS)('claims of inserted calls on %s', (backend) => {
  const open = storeBench(backend);

  it('a claim of steps this store inserted gives each step its record as the journal reads it', async () => {
    const { store } = await open();
    const now = Date.now();
    const fence = await claimedExecution(store, 'mine', 'worker-1', now);
    expect(await store.insertSteps(fence, varied('mine', now))).toBe(true);

    const sent = await capture(async () => {
      const claimed = await store.claimSteps(claimAll('worker-1', now));
      const journal = await store.loadJournal('mine');
      expect(claimed.map((step) => step.id)).toEqual(['mine-a', 'mine-b', 'mine-c']);
      expect(claimed).toEqual(journal);
      expect(claimed.map((step) => [step.state, step.attempts, step.leaseOwner, step.startedAt])).toEqual(Array(3).fill(['running', 1, 'worker-1', now]));
    });
    // better-sqlite3's statements are the ones the capture sees: the claim read back no call, and no read followed it.
    if (backend === 'sqlite') {
      const claims = sent.filter(({ sql }) => /^\s*UPDATE \S*steps SET state = 'running'/.test(sql));
      expect(claims).toHaveLength(1);
      expect(claims[0]!.sql).not.toMatch(/RETURNING .*\bargs\b/s);
      expect(sent.filter(({ sql }) => /FROM \S*steps WHERE id/.test(sql))).toEqual([]);
    }
  });

  it('steps another connection inserted are claimed with their whole record', async () => {
    const { db, store } = await open();
    const other = await createStentStore({ database: db.options });
    try {
      const now = Date.now();
      const fence = await claimedExecution(other, 'theirs', 'worker-2', now);
      expect(await other.insertSteps(fence, varied('theirs', now))).toBe(true);
      const claimed = await store.claimSteps(claimAll('worker-1', now));
      expect(claimed.map((step) => step.id)).toEqual(['theirs-a', 'theirs-b', 'theirs-c']);
      expect(claimed).toEqual(await store.loadJournal('theirs'));
    } finally {
      await other.close();
    }
  });

  it('a step claimed again after a retry carries its attempts and error, not those of its insert', async () => {
    const { store } = await open();
    const now = Date.now();
    const fence = await claimedExecution(store, 'again', 'worker-1', now);
    expect(await store.insertSteps(fence, [newStep('again-a', 'again', 0, now)])).toBe(true);
    const [first] = await store.claimSteps(claimAll('worker-1', now));
    expect(first).toMatchObject({ id: 'again-a', attempts: 1, error: null });
    const retry = { kind: 'retry' as const, error: '{"message":"flaky"}', availableAt: now };
    expect(await store.completeSteps([{ fence: { stepId: 'again-a', owner: 'worker-1', epoch: first!.leaseEpoch }, executionId: 'again', outcome: retry, finishedAt: now, wakeExecution: false }])).toEqual([true]);
    const [second] = await store.claimSteps(claimAll('worker-1', now + 1));
    expect(second).toMatchObject({ id: 'again-a', attempts: 2, error: '{"message":"flaky"}', leaseEpoch: first!.leaseEpoch + 1, startedAt: now + 1 });
    expect([second]).toEqual(await store.loadJournal('again'));
  });
});

class SealedActs {
  readonly seen: string[] = [];
  async open(secret: string): Promise<number> {
    this.seen.push(secret);
    return secret.length;
  }
}
defineActivity(SealedActs, { name: 'InsertedCallsSealedActs' });

class SealedFanOut {
  constructor(private readonly acts: SealedActs) {}
  async run(count: number): Promise<number> {
    const lengths = await Promise.all(Array.from({ length: count }, (_, i) => this.acts.open(`sealed-${i}`)));
    return lengths.reduce((a, b) => a + b, 0);
  }
}
defineWorkflow(SealedFanOut, { name: 'InsertedCallsSealedFanOut' });

describe.each(DIALECTS)('a fan-out through a payload codec on %s', (dialect) => {
  let db: TestDatabase | undefined;
  let executor: StentExecutor | undefined;
  afterEach(async () => {
    await executor?.close('2s').catch(() => undefined);
    await db?.dispose();
    executor = db = undefined;
  });

  it('calls claimed after their insert reach their activity decoded, and none is stored in plain text', async () => {
    db = await createTestDatabase(dialect);
    const codec = aesGcmCodec({ keys: { k1: randomBytes(32) }, current: 'k1' });
    const acts = new SealedActs();
    // Two slots for 40 calls: all but the first few are inserted pending and claimed afterwards.
    executor = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: { ...QUICK_WORKER, concurrency: 2 }, codec, logger: new MemoryLogger() });
    executor.register(acts, () => new SealedFanOut(acts));
    await executor.start();
    const id = await executor.dispatch(SealedFanOut, [40]);
    const expected = Array.from({ length: 40 }, (_, i) => `sealed-${i}`);
    expect(await executor.waitFor<number>(id, { timeout: '30s' })).toMatchObject({ ok: true, value: expected.join('').length });
    expect([...acts.seen].sort()).toEqual([...expected].sort());
    expect(await allStoredText(db)).not.toContain('sealed-');
  });
});
