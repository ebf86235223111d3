import { describe, expect, it } from 'vitest';
import { newExecution, newStep } from '../support/executions.js';
import { capture } from '../support/statement-capture.js';
import { planOf } from '../support/statement-plans.js';
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
