import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ClaimFilter } from 'nestjs-stent/internal';
import type { Inspector } from '../support/inspector.js';
import { DIALECTS } from '../support/databases.js';
import { storeBench } from '../support/store-bench.js';

/**
 * Claims of an activity with per-key concurrency alone (no rate limit, no maxConcurrent): what they take
 * (rank by rank across keys, by priority within a key, within each key's room), and that they read each
 * key's next steps through the keyed claim index instead of ranking the activity's whole backlog (SQLite).
 */

const NAME = 'Acts.keyed';
const LIMIT = 2;
const flow = new Map([[NAME, { concurrency: LIMIT, rate: null, total: null }]]);

interface StepRow {
  id: string;
  key: string | null;
  state?: 'pending' | 'running';
  priority?: number;
  /** Milliseconds after t0 the step is due. */
  due?: number;
  queue?: string;
  /** Lease owner of the step's execution (its run is held there). */
  heldBy?: string;
}

async function insertSteps(inspector: Inspector, t0: number, rows: StepRow[]): Promise<void> {
  const { t } = inspector;
  for (const row of rows) {
    await inspector.query(
      `INSERT INTO ${t.executions} (id, workflow_name, state, args, queue, priority, tags, created_at, updated_at, lease_owner) VALUES (?, 'Flow', 'running', '[]', 'default', 0, '[]', ?, ?, ?)`,
      [`x-${row.id}`, t0, t0, row.heldBy ?? null],
    );
    const running = row.state === 'running';
    await inspector.query(
      `INSERT INTO ${t.steps} (id, execution_id, position, kind, name, args, state, queue, priority, tags, available_at, created_at, concurrency_key, lease_owner, lease_epoch, lease_expires_at, attempts)
       VALUES (?, ?, 0, 'activity', ?, '[]', ?, ?, ?, '[]', ?, ?, ?, ?, ?, ?, ?)`,
      [row.id, `x-${row.id}`, NAME, row.state ?? 'pending', row.queue ?? 'default', row.priority ?? 0, t0 + (row.due ?? 0), t0, row.key, running ? 'w' : null, running ? 1 : 0, running ? t0 + 600_000 : null, running ? 1 : 0],
    );
  }
}

function filterFor(now: number, limit: number, extra: Partial<ClaimFilter> = {}): ClaimFilter {
  return { owner: 'w', names: [NAME], queues: ['default'], tags: [], limit, now, leaseMs: 60_000, limits: new Map(), flow, ...extra };
}

/** The statements better-sqlite3 runs while `work` runs (text and values). */
async function capture(work: () => Promise<unknown>): Promise<Array<{ sql: string; params: unknown[] }>> {
  const sent: Array<{ sql: string; params: unknown[] }> = [];
  const statementProto = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as Record<string, (...args: unknown[]) => unknown>;
  const all = statementProto.all!;
  statementProto.all = function (this: { source: string }, ...args: unknown[]) {
    sent.push({ sql: this.source, params: args });
    return all.apply(this, args);
  };
  try {
    await work();
  } finally {
    statementProto.all = all;
  }
  return sent;
}

describe.each(DIALECTS)('keyed claims on %s', (dialect) => {
  const open = storeBench(dialect);

  it('take every key’s first step before any second one, by priority within a key, within each key’s room', async () => {
    const { store, inspector } = await open();
    const t0 = Date.now() - 60_000;
    const flowKeys = inspector.t.steps.replace('stent_steps', 'stent_flow_keys');
    await insertSteps(inspector, t0, [
      // a: one running, room for one: the higher priority goes first, whatever its due time.
      { id: 'a-run', key: 'a', state: 'running' },
      { id: 'a1', key: 'a', due: 1 },
      { id: 'a2', key: 'a', due: 2, priority: 5 },
      { id: 'a3', key: 'a', due: 3 },
      // b: room for two, taken oldest first, one per rank; its step in another queue is not this worker's.
      { id: 'b0', key: 'b', due: 0, queue: 'other' },
      { id: 'b1', key: 'b', due: 1 },
      { id: 'b2', key: 'b', due: 2 },
      { id: 'b3', key: 'b', due: 3 },
      // c: two running, one of them finished here (its result not written yet): room for one.
      { id: 'c-run', key: 'c', state: 'running' },
      { id: 'c-done', key: 'c', state: 'running' },
      { id: 'c1', key: 'c', due: 1 },
      // d: parked by a RateLimitedError; e: not due yet.
      { id: 'd1', key: 'd', due: 1 },
      { id: 'e1', key: 'e', due: 120_000 },
      // h: one running; of equal priority, the step of an execution held here goes before an older one.
      { id: 'h-run', key: 'h', state: 'running' },
      { id: 'h1', key: 'h', due: 1 },
      { id: 'h2', key: 'h', due: 2, heldBy: 'w' },
      // Steps without a key (recorded before the activity had a limit): at most the limit, in order.
      { id: 'u1', key: null, due: 1 },
      { id: 'u2', key: null, due: 2 },
      { id: 'u3', key: null, due: 3 },
    ]);
    await inspector.query(`INSERT INTO ${flowKeys} (name, flow_key, window_start, used, blocked_until) VALUES (?, 'd', 0, 0, ?)`, [NAME, t0 + 600_000]);
    const now = Date.now();
    const extra = { finishedHere: ['c-done'], heldHere: ['x-h2'] };

    const first = await store.claimSteps(filterFor(now, 5, extra));
    expect(first.map((step) => step.id).sort()).toEqual(['a2', 'b1', 'c1', 'h2', 'u1']);
    expect(first.every((step) => step.state === 'running' && step.leaseOwner === 'w' && step.attempts === 1)).toBe(true);

    const second = await store.claimSteps(filterFor(now, 10, extra));
    // Steps without a key are not counted by key: any the limit allows per claim.
    expect(second.map((step) => step.id).sort()).toEqual(['b2', 'u2', 'u3']);
    expect(await store.claimSteps(filterFor(now, 10, extra))).toEqual([]);

    const running = await inspector.query<{ k: string | null; n: unknown }>(
      `SELECT concurrency_key AS k, COUNT(*) AS n FROM ${inspector.t.steps} WHERE state = 'running' GROUP BY concurrency_key ORDER BY concurrency_key`,
    );
    expect(running.map((row) => [row.k, Number(row.n)])).toEqual(
      expect.arrayContaining([
        ['a', 2],
        ['b', 2],
        ['c', 3],
        ['h', 2],
        [null, 3],
      ]),
    );
  });

});

// PostgreSQL keeps the ranked claim (reading key by key cost its server more CPU a step in the bench).
describe('keyed claims on sqlite', () => {
  const open = storeBench('sqlite');

  it('read the next steps of the keys with room through the keyed index, not the activity’s whole backlog', async () => {
    const { store, inspector } = await open();
    const { t } = inspector;
    const t0 = Date.now() - 3_600_000;
    const series = (count: number) => `WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < ${count})`;
    const BACKLOG = 5_000;
    const KEYS = 20;
    await inspector.query(`${series(BACKLOG)} INSERT INTO ${t.executions} (id, workflow_name, state, args, queue, priority, tags, created_at, updated_at) SELECT 'x-' || n, 'Flow', 'running', '[]', 'default', 0, '[]', ${t0}, ${t0} FROM series`);
    // Every key but k0 runs its limit already; the backlog waits behind them.
    const runningWhen = `n <= ${LIMIT * KEYS} AND n % ${KEYS} <> 0`;
    await inspector.query(
      `${series(BACKLOG)} INSERT INTO ${t.steps} (id, execution_id, position, kind, name, args, state, queue, priority, tags, available_at, created_at, concurrency_key, lease_owner, lease_epoch)
       SELECT 's-' || n, 'x-' || n, 0, 'activity', '${NAME}', '[]', CASE WHEN ${runningWhen} THEN 'running' ELSE 'pending' END, 'default', 0, '[]', ${t0} + n, ${t0},
              'k' || (n % ${KEYS}), CASE WHEN ${runningWhen} THEN 'w' ELSE NULL END, 1 FROM series`,
    );
    await inspector.query('ANALYZE');
    const sent = await capture(async () => {
      const claimed = await store.claimSteps(filterFor(Date.now(), 10));
      expect(claimed.map((step) => step.concurrencyKey)).toEqual(['k0', 'k0']);
    });
    const claim = sent.find((statement) => /UPDATE stent_steps SET state = 'running'/.test(statement.sql));
    expect(claim).toBeDefined();
    const plan = (await inspector.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${claim!.sql}`, claim!.params)).map((row) => row.detail);
    const shown = plan.join('\n');
    expect(plan.some((line) => /SEARCH c2 USING INDEX stent_steps_flow_keyed \(name=\? AND concurrency_key=\?\)/.test(line)), shown).toBe(true);
    // No read of the pending steps by due time (every due step of the activity) or a scan of the table.
    expect(plan.some((line) => /stent_steps_flow_pending|stent_steps_claim_order|SCAN (c|c2|s|stent_steps)\b/.test(line)), shown).toBe(false);
  });
});
