import { describe, expect, it } from 'vitest';
import type { Inspector } from '../support/inspector.js';
import { DIALECTS } from '../support/databases.js';
import { storeBench } from '../support/store-bench.js';
import { newExecution } from '../support/executions.js';
import { capture, type Sent } from '../support/statement-capture.js';
import { analyzedPlan, literal, planOf } from '../support/statement-plans.js';
import { seriesOf, textOf } from '../support/sql-series.js';

/**
 * Claims take work in priority order, then the oldest due first. With a backlog in the tables (here in a
 * queue the claiming worker does not serve, and a large finished history) they must read an index in that
 * order and stop after a few rows, not collect and sort every due row: the plans of the statements the
 * store really sends are checked (on PostgreSQL also the generic plan a prepared statement switches to),
 * and they hold no node whose set-up cost follows the size of the tables.
 * How fast this is on 1,000,000 rows is the bench's `scale` case.
 */

const BACKLOG = 5_000;
const FINISHED = 20_000;
const HOLDERS = 500;

async function fill(inspector: Inspector): Promise<void> {
  const { t } = inspector;
  const postgres = inspector.dialect === 'postgres';
  const series = (count: number) => seriesOf(inspector, count);
  const text = (expr: string) => textOf(inspector, expr);
  const t0 = Date.now() - 3_600_000;
  const exec = 'id, workflow_name, state, args, queue, priority, tags, created_at, updated_at, wake_at, finished_at';
  await inspector.query(`${series(FINISHED)} INSERT INTO ${t.executions} (${exec}) SELECT 'done-' || ${text('n')}, 'Flow', 'completed', '[]', 'default', 0, '[]', ${t0}, ${t0}, NULL, ${t0} FROM series`);
  await inspector.query(`${series(BACKLOG)} INSERT INTO ${t.executions} (${exec}) SELECT 'due-' || ${text('n')}, 'Flow', 'pending', '[]', 'elsewhere', n % 3, '[]', ${t0}, ${t0}, ${t0} + n, NULL FROM series`);
  await inspector.query(`${series(HOLDERS)} INSERT INTO ${t.executions} (${exec}) SELECT 'holder-' || ${text('n')}, 'Flow', 'running', '[]', 'elsewhere', 0, '[]', ${t0}, ${t0}, NULL, NULL FROM series`);
  const step = 'id, execution_id, position, kind, name, args, state, queue, priority, tags, available_at, created_at';
  await inspector.query(
    `${series(BACKLOG)} INSERT INTO ${t.steps} (${step})
     SELECT 'step-' || ${text('n')}, 'holder-' || ${text(`n % ${HOLDERS} + 1`)}, n, 'activity', 'Acts.work', '[]', 'pending', 'elsewhere', n % 3, '[]', ${t0} + n, ${t0} FROM series`,
  );
  // Each finished execution's step, in the served queue: the history a claim's estimates see.
  await inspector.query(
    `${series(FINISHED)} INSERT INTO ${t.steps} (${step})
     SELECT 'done-s-' || ${text('n')}, 'done-' || ${text('n')}, 0, 'activity', 'Acts.work', '[]', 'completed', 'default', 0, '[]', ${t0}, ${t0} FROM series`,
  );
  // ANALYZE samples a table of 1,100,000 steps (the bench's) to about a quarter as many distinct executions
  // as rows: given that estimate here, PostgreSQL plans these small tables as it plans the big ones.
  if (postgres) await inspector.query(`ALTER TABLE ${t.steps} ALTER COLUMN execution_id SET (n_distinct = -0.24)`);
  await inspector.query(postgres ? `ANALYZE ${t.executions}` : 'ANALYZE');
  if (postgres) await inspector.query(`ANALYZE ${t.steps}`);
}

/** How a statement prepared on PostgreSQL was planned over ten runs: with its values, or once for all. */
async function plansChosen(inspector: Inspector, sent: Sent): Promise<{ custom: number; generic: number }> {
  await inspector.query('RESET plan_cache_mode');
  await inspector.query('DEALLOCATE ALL');
  await inspector.query(`PREPARE claim_probe AS ${sent.sql}`);
  for (let run = 0; run < 10; run++) await inspector.query(`EXECUTE claim_probe(${sent.params.map(literal).join(', ')})`);
  const [row] = await inspector.query<{ custom_plans: unknown; generic_plans: unknown }>(`SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE name = 'claim_probe'`);
  await inspector.query('DEALLOCATE claim_probe');
  return { custom: Number(row?.custom_plans), generic: Number(row?.generic_plans) };
}

describe.each(DIALECTS)('claim indexes on %s', (dialect) => {
  const open = storeBench(dialect);

  it('claims read the claim-order indexes and sort nothing, with a backlog of another queue in the tables', async () => {
    const { store, inspector } = await open();
    await fill(inspector);
    const now = Date.now();
    const filter = { owner: 'probe', names: ['Flow'], queues: ['default'], tags: [], limit: 10, now, leaseMs: 30_000, limits: new Map<string, number>() };
    const sent = await capture(async () => {
      expect(await store.claimExecutions(filter)).toEqual([]);
      expect(await store.claimSteps({ ...filter, names: ['Acts.work'] })).toEqual([]);
    });
    const claims = sent.filter((statement) => /ORDER BY c\.priority DESC/.test(statement.sql));
    expect(claims.map((statement) => (statement.sql.includes('stent_steps') ? 'steps' : 'executions'))).toEqual(['executions', 'steps']);
    for (const statement of claims) {
      const index = statement.sql.includes('stent_steps') ? 'stent_steps_claim_order' : 'stent_executions_claim_order';
      for (const generic of dialect === 'postgres' ? [false, true] : [false]) {
        const plan = await planOf(inspector, statement, generic);
        const shown = `${generic ? 'generic' : 'custom'} plan:\n${plan.join('\n')}`;
        expect(plan.some((line) => line.includes(index)), shown).toBe(true);
        expect(plan.some((line) => /\bSort\b|TEMP B-TREE FOR ORDER BY/.test(line)), shown).toBe(false);
        // Nothing whose set-up grows with the tables' estimates (a Memoize or Hash table built at every run).
        expect(plan.some((line) => /\b(Memoize|Hash)\b/.test(line)), shown).toBe(false);
      }
    }
    // Prepared, each claim settles on one generic plan after PostgreSQL's five trial runs, as it does on an
    // empty database, instead of being planned again at every call.
    if (dialect === 'postgres') for (const statement of claims) expect(await plansChosen(inspector, statement), statement.sql).toMatchObject({ generic: 5 });
    // The backlog is still there and is claimed in priority order by a worker of its queue.
    const elsewhere = await store.claimExecutions({ ...filter, queues: ['elsewhere'], limit: 5 });
    expect(elsewhere.map((execution) => execution.priority)).toEqual([2, 2, 2, 2, 2]);
    expect(elsewhere.map((execution) => execution.id)).toEqual(['due-2', 'due-5', 'due-8', 'due-11', 'due-14']);
  });

  it('a claim of activities without flow limits does not read the keyed steps waiting in its queue', async () => {
    const { store, inspector } = await open();
    await fill(inspector);
    const { t } = inspector;
    const postgres = dialect === 'postgres';
    const text = (expr: string) => textOf(inspector, expr);
    const t0 = Date.now() - 3_600_000;
    // Keys that are full: a tenant-limited activity's backlog in the same queue as the plain activity's work.
    await inspector.query(
      `${seriesOf(inspector, BACKLOG)} INSERT INTO ${t.steps} (id, execution_id, position, kind, name, args, state, queue, priority, tags, available_at, created_at, concurrency_key)
       SELECT 'keyed-' || ${text('n')}, 'holder-' || ${text(`(n % ${HOLDERS} + 1)`)}, ${BACKLOG} + n, 'activity', 'Tenants.work', '[]', 'pending', 'default', 0, '[]', ${t0} + n, ${t0}, 'tenant-' || ${text('(n % 20)')} FROM series`,
    );
    await inspector.query(postgres ? `ANALYZE ${t.steps}` : 'ANALYZE');
    const filter = { owner: 'probe', names: ['Acts.work'], queues: ['default'], tags: [], limit: 10, now: Date.now(), leaseMs: 30_000, limits: new Map<string, number>() };
    const sent = await capture(async () => {
      expect(await store.claimSteps(filter)).toEqual([]);
    });
    const [claim] = sent.filter((statement) => /ORDER BY c\.priority DESC/.test(statement.sql));
    expect(claim).toBeDefined();
    for (const generic of postgres ? [false, true] : [false]) {
      const plan = await planOf(inspector, claim!, generic);
      const shown = `${generic ? 'generic' : 'custom'} plan:\n${plan.join('\n')}`;
      expect(plan.some((line) => line.includes('stent_steps_claim_order')), shown).toBe(true);
    }
    if (postgres) {
      // Run for real: the index holds none of the keyed steps, so the claim reads (and passes over) none.
      const analyzed = await analyzedPlan(inspector, claim!);
      const removed = analyzed.flatMap((line) => /Rows Removed by Filter: (\d+)/.exec(line)?.[1] ?? []).map(Number);
      expect(Math.max(0, ...removed), analyzed.join('\n')).toBeLessThan(100);
    }
    // The keyed steps are still there for the claims by activity and key, and for a claim of strays.
    expect(await store.claimSteps({ ...filter, names: ['Tenants.work'], limit: 3, strays: true })).toHaveLength(3);
  });

  it("a dispatch inserted claimed looks for its queue's backlog in the claim-order index, not through the table", async () => {
    const { store, inspector } = await open();
    await fill(inspector);
    const now = Date.now();
    const execution = (id: string) => newExecution(id, now, { claimedBy: { owner: 'probe', leaseExpiresAt: now + 30_000 } });
    const sent = await capture(async () => {
      expect(await store.createExecution(execution('local-1'))).toMatchObject({ created: true, claimed: true });
    });
    const inserts = sent.filter((statement) => /INSERT INTO \S*stent_executions/.test(statement.sql));
    expect(inserts).toHaveLength(1);
    for (const generic of dialect === 'postgres' ? [false, true] : [false]) {
      const plan = await planOf(inspector, inserts[0]!, generic);
      const shown = `${generic ? 'generic' : 'custom'} plan:\n${plan.join('\n')}`;
      expect(plan.some((line) => line.includes('stent_executions_claim_order')), shown).toBe(true);
      expect(plan.some((line) => /Seq Scan on stent_executions|SCAN c\b/.test(line)), shown).toBe(false);
    }
  });

  it('the migration creates the claim-order indexes and drops the ones they replace', async () => {
    const { db, inspector } = await open();
    const names =
      dialect === 'sqlite'
        ? (await inspector.query<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index'`)).map((row) => row.name)
        : (await inspector.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = ?`, [db.schema])).map((row) => row.indexname);
    expect(names).toEqual(expect.arrayContaining(['stent_executions_claim_order', 'stent_steps_claim_order']));
    expect(names).not.toContain('stent_executions_claim');
    expect(names).not.toContain('stent_steps_claim');
    // Steps with a flow key are claimed by activity and key, and left out of the claim-order index.
    const [definition] =
      dialect === 'sqlite'
        ? (await inspector.query<{ sql: string }>(`SELECT sql FROM sqlite_master WHERE name = 'stent_steps_claim_order'`)).map((row) => row.sql)
        : (await inspector.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = ? AND indexname = 'stent_steps_claim_order'`, [db.schema])).map((row) => row.indexdef);
    expect(definition).toMatch(/concurrency_key IS NULL\)? AND \(?rate_key IS NULL/);
  });
});
