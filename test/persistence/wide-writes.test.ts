import { describe, expect, it } from 'vitest';
import type { StentStore } from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { storeBench } from '../support/store-bench.js';
import { claimedExecution, newStep } from '../support/executions.js';
import { installSqlCounter, sqlCounts, sqlCountsSince } from '../../bench/sql-counter.js';

/**
 * A workflow that fanned out widely writes as many rows at once: its steps, then (when it fails or is
 * suspended) the order it was handed their outcomes in. PostgreSQL binds at most 65,535 parameters to one
 * statement, so such writes go in parts; here 22,000 steps, then their delivery order in one write
 * (three parameters a row: more than one statement can take).
 */

installSqlCounter();

/** Most deliveries one statement of a delivery order carries, on either database. */
const DELIVERIES_PER_STATEMENT = 1_000;

const WIDE = 22_000;

type NewStep = Parameters<StentStore['insertSteps']>[1][number];

function stepAt(executionId: string, position: number, now: number): NewStep {
  return newStep(`${executionId}-s${position}`, executionId, position, now, { state: 'completed', result: '1' });
}

describe.each(BACKENDS)('wide journal writes on %s', (dialect) => {
  const open = storeBench(dialect);

  it(`records ${WIDE} steps and their delivery order in one write`, async () => {
    const { store, inspector } = await open();
    const now = Date.now();
    const owner = 'wide-writer';
    const fence = await claimedExecution(store, 'wide', owner, now);
    const id = fence.executionId;
    const steps = Array.from({ length: WIDE }, (_, position) => stepAt(id, position, now));
    const deliveries = steps.map((step, index) => ({ position: step.position, turn: 1 + Math.floor(index / 100), seq: index + 1 }));
    expect(await store.insertSteps(fence, steps)).toBe(true);
    // The order outcomes were handed over in rides with the run's next write: in parts, not a row at a time.
    const before = sqlCounts();
    expect(await store.insertSteps(fence, [], deliveries)).toBe(true);
    const { statements } = sqlCountsSince(before);
    // The counter sees better-sqlite3 and pg; sqlite3 runs the statements better-sqlite3 runs (same dialect).
    if (dialect !== 'sqlite3') expect(statements, `${statements} statements for ${WIDE} deliveries`).toBeLessThanOrEqual(Math.ceil(WIDE / DELIVERIES_PER_STATEMENT) + 5);

    const [row] = await inspector.query<{ n: unknown; delivered: unknown; exact: unknown }>(
      `SELECT COUNT(*) AS n, COUNT(delivered_seq) AS delivered,
         SUM(CASE WHEN delivered_seq = position + 1 AND delivered_turn = 1 + position / 100 THEN 1 ELSE 0 END) AS exact
       FROM ${inspector.t.steps} WHERE execution_id = ?`,
      [id],
    );
    expect({ n: Number(row?.n), delivered: Number(row?.delivered), exact: Number(row?.exact) }).toEqual({ n: WIDE, delivered: WIDE, exact: WIDE });
  });

  it('a writer whose lease was taken over inserts nothing, neither one step nor a write in several parts', async () => {
    const { store, inspector } = await open();
    const now = Date.now();
    const held = await claimedExecution(store, 'taken-over', 'first', now);
    const id = held.executionId;
    expect(await store.insertSteps(held, [stepAt(id, 0, now)])).toBe(true);
    // The same worker under an older epoch, and another worker naming the current epoch: both stale.
    for (const stale of [{ ...held, epoch: held.epoch - 1 }, { ...held, owner: 'second' }]) {
      expect(await store.insertSteps(stale, [stepAt(id, 1, now)])).toBe(false);
      expect(await store.insertSteps(stale, Array.from({ length: WIDE }, (_, i) => stepAt(id, 1 + i, now)))).toBe(false);
    }
    const [row] = await inspector.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${inspector.t.steps} WHERE execution_id = ?`, [id]);
    expect(Number(row?.n)).toBe(1);
  });
});
