import { describe, expect, it } from 'vitest';
import { connectPostgres } from '../support/databases.js';
import { storeBench } from '../support/store-bench.js';
import { newExecution, newStep } from '../support/executions.js';

const OWNER = 'gone-worker';

/**
 * A reap of expired leases that runs while an execution is being cancelled (PostgreSQL: the cancel's
 * transaction is open, its execution row written and not committed). The cancel leaves a running step to
 * its worker or to the reaper; the reap must not hand that step back as pending once the cancel commits,
 * where nothing would ever cancel it.
 */
describe('a reap beside a cancel on postgres', () => {
  const open = storeBench('postgres');

  it('leaves the running step of an execution being cancelled running, and the next reap cancels it', async () => {
    const { store, inspector, db } = await open();
    const now = Date.now();
    const id = 'cancelled-meanwhile';
    const lease = { owner: OWNER, leaseExpiresAt: now + 60_000 };
    await store.createExecution(newExecution(id, now, { claimedBy: lease }));
    const execution = await store.getExecution(id);
    const step = newStep('stuck-step', id, 0, now, { state: 'running', claimedBy: lease });
    expect(await store.insertSteps({ executionId: id, owner: OWNER, epoch: execution!.leaseEpoch }, [step])).toBe(true);
    // Its worker is gone: the step's lease ran out (the execution's has not).
    await inspector.query(`UPDATE ${inspector.t.steps} SET lease_expires_at = 0 WHERE id = ?`, [step.id]);

    // The cancel's transaction has written the execution and not committed yet when the reap runs.
    const canceller = await connectPostgres((db.options as { url: string }).url);
    try {
      await canceller.query('BEGIN');
      await canceller.query(`UPDATE ${inspector.t.executions} SET state = 'cancelled', finished_at = $1, lease_owner = NULL WHERE id = $2`, [now, id]);
      await store.reapExpiredLeases(Date.now(), 10);
      await canceller.query('COMMIT');
    } finally {
      await canceller.end().catch(() => undefined);
    }
    const [afterRace] = await inspector.query<{ state: string }>(`SELECT state FROM ${inspector.t.steps} WHERE id = ?`, [step.id]);
    expect(afterRace!.state).not.toBe('pending');

    // The next reap finds a running step of a final execution: cancelled, not handed to another worker.
    await store.reapExpiredLeases(Date.now(), 10);
    const rows = await inspector.query<{ state: string; lease_owner: string | null }>(`SELECT state, lease_owner FROM ${inspector.t.steps} WHERE execution_id = ?`, [id]);
    expect(rows).toEqual([{ state: 'cancelled', lease_owner: null }]);
  });
});
