import { describe, expect, it } from 'vitest';
import type { ClaimFilter } from 'nestjs-stent/internal';
import type { Inspector } from '../support/inspector.js';
import { DIALECTS } from '../support/databases.js';
import { storeBench } from '../support/store-bench.js';
import { capture } from '../support/statement-capture.js';
import { analyzedPlan } from '../support/statement-plans.js';
import { insertRunningFlows, seriesOf, textOf } from '../support/sql-series.js';

/**
 * A claim of a rate-limited activity on a backlog: 20 keys of 250 waiting steps each, one start a key an
 * hour. Once every key has used its window, a claim ranks none of the waiting steps: keys with no room
 * left in the window are left out before the ranking (a sort over every due step of the activity), as
 * keys at their concurrency limit are. The next window gives every key its start again.
 */

const KEYS = 20;
const PER_KEY = 250;
const NAME = 'Rated.work';
const HOUR = 3_600_000;

async function fill(inspector: Inspector, t0: number): Promise<void> {
  const { t } = inspector;
  const postgres = inspector.dialect === 'postgres';
  const total = KEYS * PER_KEY;
  const series = (count: number) => seriesOf(inspector, count, 0);
  const text = (expr: string) => textOf(inspector, expr);
  await insertRunningFlows(inspector, total, t0);
  await inspector.query(
    `${series(total)} INSERT INTO ${t.steps} (id, execution_id, position, kind, name, args, state, queue, priority, tags, available_at, created_at, rate_key)
     SELECT 'wait-' || ${text('n')}, 'run-' || ${text('n')}, 1, 'activity', '${NAME}', '[]', 'pending', 'default', 0, '[]', ${t0} + n, ${t0}, 'key-' || ${text(`n % ${KEYS}`)} FROM series`,
  );
  await inspector.query(postgres ? `ANALYZE ${t.steps}` : 'ANALYZE');
}

/** A claim of up to 10 steps of the rate-limited activity by worker 'probe' at `now`. */
function claimAt(now: number): ClaimFilter {
  return {
    owner: 'probe',
    names: [NAME],
    queues: ['default'],
    tags: [],
    limit: 10,
    now,
    leaseMs: 30_000,
    limits: new Map<string, number>(),
    flow: new Map([[NAME, { concurrency: null, rate: { limit: 1, perMs: HOUR }, total: null }]]),
  };
}

describe.each(DIALECTS)('rate-limited claim on %s', (dialect) => {
  const open = storeBench(dialect);

  it('ranks none of the waiting steps once every key has used its window, and the next window starts each key once', async () => {
    const { store, inspector } = await open();
    // In the middle of an hour, so that a window's start and end are far from the claims' times.
    const now = Math.floor(Date.now() / HOUR) * HOUR + HOUR / 2;
    await fill(inspector, now - HOUR);
    const first = [...(await store.claimSteps(claimAt(now))), ...(await store.claimSteps(claimAt(now)))];
    // One start a key: each key's oldest step (wait-0 .. wait-19).
    expect(first.map((step) => step.id).sort()).toEqual(Array.from({ length: KEYS }, (_, i) => `wait-${i}`).sort());

    const sent = await capture(async () => {
      expect(await store.claimSteps(claimAt(now + 1_000))).toEqual([]);
    });
    const ranking = sent.find((statement) => /ROW_NUMBER\(\) OVER \(PARTITION BY COALESCE/.test(statement.sql));
    expect(ranking, sent.map((statement) => statement.sql).join('\n')).toBeDefined();
    if (dialect === 'postgres') {
      const plan = await analyzedPlan(inspector, ranking!);
      const ranked = plan.filter((line) => line.includes('WindowAgg')).map((line) => Number(/actual rows=(\d+)/.exec(line)?.[1] ?? NaN));
      expect(ranked, plan.join('\n')).toEqual([0]);
    }

    // The next hour: each key starts once more, its next step.
    const next = [...(await store.claimSteps(claimAt(now + HOUR))), ...(await store.claimSteps(claimAt(now + HOUR)))];
    expect(next.map((step) => step.id).sort()).toEqual(Array.from({ length: KEYS }, (_, i) => `wait-${KEYS + i}`).sort());
    expect(await store.claimSteps(claimAt(now + HOUR + 1_000))).toEqual([]);
  });
});
