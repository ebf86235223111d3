import { describe, expect, it } from 'vitest';
import { newExecution, newStep, runningUnder } from '../support/executions.js';
import { capture } from '../support/statement-capture.js';
import { planOf } from '../support/statement-plans.js';
import type { Inspector } from '../support/inspector.js';
import { storeBench } from '../support/store-bench.js';

/**
 * A run's step insert is fenced by its execution row (held by this worker, at this lease epoch), read
 * once for each row inserted. That read must go by the execution's id: through the lease index it scans
 * every execution the worker holds, for each row, and a worker holds hundreds. PostgreSQL took the lease
 * index when its statistics were those of a young table, where each owner seems to hold one execution;
 * the test gives it such statistics on purpose.
 */

const OWNER = 'busy-worker';
const HELD = 2_000;

describe('the execution fence of a shared step insert on postgres', () => {
  const open = storeBench('postgres');

  it('reads the execution by its id, with statistics that make the lease index look as selective', async () => {
    const { store, inspector } = await open();
    const { t } = inspector;
    const now = Date.now();
    await inspector.query(
      `INSERT INTO ${t.executions} (id, workflow_name, state, args, queue, priority, tags, created_at, updated_at, lease_owner, lease_epoch, lease_expires_at)
       SELECT 'held-' || CAST(n AS text), 'Flow', 'running', '[]', 'default', 0, '[]', ${now}, ${now}, '${OWNER}', 1, ${now + 60_000} FROM generate_series(1, ${HELD}) n`,
    );
    await store.createExecution(newExecution('mine', now, { claimedBy: { owner: OWNER, leaseExpiresAt: now + 60_000 } }));
    await inspector.query(`ALTER TABLE ${t.executions} ALTER COLUMN lease_owner SET (n_distinct = -1)`);
    await inspector.query(`ANALYZE ${t.executions}`);
    const execution = await store.getExecution('mine');
    const fence = { executionId: 'mine', owner: OWNER, epoch: execution!.leaseEpoch };

    const sent = await capture(async () => {
      expect(await store.insertSteps(fence, [newStep('step-1', 'mine', 0, now)])).toBe(true);
    });
    const inserts = sent.filter((statement) => /INSERT INTO \S*stent_steps/.test(statement.sql) && /FOR SHARE/.test(statement.sql));
    expect(inserts, sent.map((statement) => statement.sql).join('\n\n')).toHaveLength(1);
    for (const generic of [false, true]) {
      const plan = await planOf(inspector, inserts[0]!, generic);
      const shown = `${generic ? 'generic' : 'custom'} plan:\n${plan.join('\n')}`;
      // The insert's part of the plan: the fence read is the row lock (FOR SHARE) and the scan under it.
      const insert = plan.slice(plan.findIndex((line) => line.trim() === 'CTE ins'), plan.findIndex((line) => line.trim() === 'CTE fin'));
      const fenceRead = insert[insert.findIndex((line) => line.includes('LockRows')) + 1] ?? '';
      expect(fenceRead, shown).toMatch(/Index Scan using stent_executions_pkey on stent_executions e\b/);
      expect(insert.some((line) => line.includes('stent_executions_lease')), shown).toBe(false);
    }
    expect((await store.loadJournal('mine')).map((step) => step.id)).toEqual(['step-1']);
  });
});

/** The lines of a plan from the node named `from` to the one named `to` (both whole lines). */
const partOf = (plan: string[], from: string, to: string): string[] => plan.slice(plan.findIndex((line) => line.trim() === from), plan.findIndex((line) => line.trim() === to));

/** Every scan of `table` in `lines` uses an index matching `indexes`, and there is at least one. */
function expectReadsBy(lines: string[], table: string, indexes: RegExp, shown: string): void {
  const reads = lines.filter((line) => new RegExp(` on ${table} [a-z]+(_\\d+)?\\b`).test(line) && /Scan/.test(line));
  expect(reads.length, shown).toBeGreaterThan(0);
  for (const read of reads) expect(read, shown).toMatch(indexes);
}

/**
 * Statistics of tables whose executions had all finished (a first batch done), analyzed then and not since
 * (autovacuum off for them), and then a worker holding HELD runs, each with a step running under its lease.
 */
async function staleStatistics(inspector: Inspector, now: number): Promise<void> {
  const { t } = inspector;
    await inspector.query(`ALTER TABLE ${t.executions} SET (autovacuum_enabled = false)`);
    await inspector.query(
      `INSERT INTO ${t.executions} (id, workflow_name, state, args, queue, priority, tags, created_at, updated_at, finished_at)
       SELECT 'old-' || CAST(n AS text), 'Flow', 'completed', '[]', 'default', 0, '[]', ${now}, ${now}, ${now} FROM generate_series(1, 4000) n`,
    );
    await inspector.query(`ANALYZE ${t.executions}`);
    await inspector.query(`ALTER TABLE ${t.steps} SET (autovacuum_enabled = false)`);
    await inspector.query(
      `INSERT INTO ${t.steps} (id, execution_id, position, kind, name, args, state, queue, priority, tags, available_at, created_at)
       SELECT 'old-s-' || CAST(n AS text), 'old-' || CAST(n AS text), 0, 'activity', 'Acts.work', '[]', 'completed', 'default', 0, '[]', ${now}, ${now} FROM generate_series(1, 4000) n`,
    );
    await inspector.query(`ANALYZE ${t.steps}`);
    // ...and then a worker holding many runs, each with a step running, of which one ends.
    await inspector.query(
      `INSERT INTO ${t.executions} (id, workflow_name, state, args, queue, priority, tags, created_at, updated_at, lease_owner, lease_epoch, lease_expires_at)
       SELECT 'held-' || CAST(n AS text), 'Flow', 'running', '[]', 'default', 0, '[]', ${now}, ${now}, '${OWNER}', 1, ${now + 60_000} FROM generate_series(1, ${HELD}) n`,
    );
    await inspector.query(
      `INSERT INTO ${t.steps} (id, execution_id, position, kind, name, args, state, queue, priority, tags, available_at, created_at, lease_owner, lease_epoch, lease_expires_at)
       SELECT 'held-s-' || CAST(n AS text), 'held-' || CAST(n AS text), 0, 'activity', 'Acts.work', '[]', 'running', 'default', 0, '[]', ${now}, ${now}, '${OWNER}', 1, ${now + 60_000} FROM generate_series(1, ${HELD}) n`,
    );
}

describe('the execution fence of a shared ending on postgres', () => {
  const open = storeBench('postgres');

  it('reads the results it records and the executions it ends by id, with statistics taken when nothing was running', async () => {
    const { store, inspector } = await open();
    const { t } = inspector;
    const now = Date.now();
    await staleStatistics(inspector, now);
    const { fence, result } = await runningUnder(store, OWNER, 'ending', now);

    const sent = await capture(async () => {
      expect(await store.finishExecution(fence, 'completed', '"done"', null, now, { hasParent: false, leftovers: false, completions: [result] })).toBe(true);
    });
    const endings = sent.filter((statement) => /fin AS \(/.test(statement.sql));
    expect(endings, sent.map((statement) => statement.sql).join('\n\n')).toHaveLength(1);
    for (const generic of [false, true]) {
      const plan = await planOf(inspector, endings[0]!, generic);
      const shown = `${generic ? 'generic' : 'custom'} plan:\n${plan.join('\n')}`;
      // The results it records (done), read by id (or by their execution's journal, for one execution), then
      // the executions it ends (fin), read by id: never through an index of what the worker holds or runs.
      expectReadsBy(partOf(plan, 'CTE done', 'CTE ins'), 'stent_steps', /stent_steps_(pkey|position)\b/, shown);
      expectReadsBy(partOf(plan, 'CTE fin', 'CTE note'), 'stent_executions', /stent_executions_pkey\b/, shown);
    }
    expect((await store.getExecution('ending'))?.state).toBe('completed');
  });
});

describe('the step fences of several results recorded at once on postgres', () => {
  const open = storeBench('postgres');

  it('read each step by id, with statistics taken when nothing was running', async () => {
    const { store, inspector } = await open();
    const now = Date.now();
    await staleStatistics(inspector, now);
    const runs = await Promise.all(['a', 'b', 'c'].map((id) => runningUnder(store, OWNER, `batch-${id}`, now)));
    const completions = runs.map(({ fence, result }) => ({
      fence: result.fence,
      executionId: fence.executionId,
      outcome: { kind: 'completed' as const, result: result.result },
      finishedAt: now + 1,
      wakeExecution: false,
    }));
    let owned: boolean[] = [];
    const sent = await capture(async () => {
      owned = await store.completeSteps(completions);
    });
    expect(owned).toEqual([true, true, true]);
    const writes = sent.filter((statement) => /UPDATE \S*stent_steps"? s SET/.test(statement.sql));
    expect(writes, sent.map((statement) => statement.sql).join('\n\n')).toHaveLength(1);
    for (const generic of [false, true]) {
      const plan = await planOf(inspector, writes[0]!, generic);
      expectReadsBy(partOf(plan, 'CTE done', 'CTE woke'), 'stent_steps', /stent_steps_pkey\b/, `${generic ? 'generic' : 'custom'} plan:\n${plan.join('\n')}`);
    }
  });
});
