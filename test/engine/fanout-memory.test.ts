import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, FAST_WORKER, Gate, type Harness } from '../support/executor-set.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { waitUntil } from '../support/wait.js';

/**
 * What a wide fan-out holds while its calls wait: the workflow's own promises and the run's wait for each,
 * not a copy of every step it recorded. Measured as the live heap (after a full collection) with every
 * call recorded and waiting, against the heap before the dispatch.
 */

const CALLS = 4_000;
const RUNNING = 10;
/**
 * Live bytes a waiting call may hold. What must stay: the workflow's promise and Promise.all's slot, the
 * run's waiter with its resolve and reject functions (about 0.5 KB in all); a kept step record (about
 * 1.5 KB more, shaped apart from every other) is what this keeps out.
 */
const BYTES_PER_CALL = 1_200;

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

function liveHeap(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

/** What the activity waits on; a new one for each run. */
let gate = new Gate();

class GatedActs {
  async hold(i: number): Promise<number> {
    await gate.wait();
    return i;
  }
}
defineActivity(GatedActs, { retry: { maxAttempts: 1 } });

class WideFlow {
  constructor(private readonly acts: GatedActs) {}
  async run(n: number): Promise<number> {
    const results = await Promise.all(Array.from({ length: n }, (_, i) => this.acts.hold(i)));
    return results.length;
  }
}
defineWorkflow(WideFlow);

describe.each(DIALECTS)('fan-out memory on %s', (dialect) => {
  let harness: Harness | undefined;
  let inspector: Inspector | undefined;
  afterEach(async () => {
    gate.open();
    await inspector?.close();
    await harness?.dispose();
    harness = inspector = undefined;
  });

  it(`${CALLS} waiting calls hold less than ${BYTES_PER_CALL} bytes each`, async () => {
    const acts = new GatedActs();
    // No suspension while the calls wait: the run must stay in memory to be measured.
    harness = await createHarness(dialect, [acts, new WideFlow(acts)], { ...FAST_WORKER, concurrency: RUNNING, suspendAfter: '1h' });
    inspector = await openInspector(harness.db);
    const { t } = inspector;
    // Warm up the code paths (and the driver's statement caches) the measured run takes.
    gate.open();
    await harness.executor.waitFor(await harness.executor.dispatch(WideFlow, [RUNNING * 2]), { timeout: '30s' });
    gate = new Gate();
    const baseline = liveHeap();

    const id = await harness.executor.dispatch(WideFlow, [CALLS]);
    await waitUntil(async () => {
      const [row] = await inspector!.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t.steps} WHERE execution_id = ?`, [id]);
      return Number(row?.n) === CALLS;
    }, 'every call recorded', 60_000);
    await waitUntil(() => gate.entered >= RUNNING, 'the first calls running', 60_000);
    const perCall = (liveHeap() - baseline) / CALLS;
    expect(perCall, `${Math.round(perCall)} live bytes per waiting call`).toBeLessThan(BYTES_PER_CALL);
    gate.open();
    expect((await harness.executor.waitFor<number>(id, { timeout: '120s' })).value).toBe(CALLS);
  });
});
