import type { WorkflowRef } from 'nestjs-stent';
import { withFreshDatabase } from '../database.js';
import { closeQuietly, openExecutor } from '../engine.js';
import { SELECTABLE_DBS } from '../options.js';
import { log, mb, secondsSince } from '../report.js';
import { FanoutFlow, FanoutMapFlow } from '../workflows.js';
import type { BenchCase, CaseContext } from './bench-case.js';

/**
 * DESIGN §8 names 2000 activities, the targets 1000; 10,000 and 20,000 show whether the cost per
 * step and the memory stay flat as a fan-out grows. Told apart by `steps` (and `via` for Stent.map).
 */
const RUNS: Array<{ size: number; workflow: WorkflowRef<unknown>; via: 'Promise.all' | 'Stent.map' }> = [
  { size: 1000, workflow: FanoutFlow, via: 'Promise.all' },
  { size: 2000, workflow: FanoutFlow, via: 'Promise.all' },
  { size: 10_000, workflow: FanoutFlow, via: 'Promise.all' },
  { size: 20_000, workflow: FanoutFlow, via: 'Promise.all' },
  { size: 20_000, workflow: FanoutMapFlow, via: 'Stent.map' },
];
const CONCURRENCY = 100;
/** How often the resident size is sampled while a fan-out runs (its peak is reported). */
const SAMPLE_MS = 20;

async function fanout(context: CaseContext, size: number, workflow: WorkflowRef<unknown>, via: string): Promise<void> {
  await withFreshDatabase(context.db, `fanout${size}`, async (database) => {
    const executor = await openExecutor(database.options, { concurrency: CONCURRENCY });
    try {
      const warm = await executor.waitFor(await executor.dispatch(workflow as WorkflowRef<FanoutFlow>, [50]), { timeout: '60s' });
      if (!warm.ok) throw new Error(`fanout warm-up failed: ${String(warm.error)}`);

      log(`${context.db}: fanout, 1 workflow x ${size} activities through ${via} (worker concurrency ${CONCURRENCY})`);
      (globalThis as { gc?: () => void }).gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), SAMPLE_MS);
      const start = process.hrtime.bigint();
      const id = await executor.dispatch(workflow as WorkflowRef<FanoutFlow>, [size]);
      const outcome = await executor.waitFor<number>(id, { timeout: '300s' }).finally(() => clearInterval(sampler));
      const seconds = secondsSince(start);
      peak = Math.max(peak, process.memoryUsage().rss);
      const expected = (size * (size + 1)) / 2;
      if (!outcome.ok || outcome.value !== expected) {
        throw new Error(`fanout workflow ${id} ended ${outcome.state} with ${JSON.stringify(outcome.ok ? outcome.value : String(outcome.error))}, expected ${expected}`);
      }
      context.emit({ case: 'fanout', db: context.db, workers: 1, steps: size, seconds, extra: { via, concurrency: CONCURRENCY, rss_peak_growth_mb: mb(peak - baseline) } });
    } finally {
      await closeQuietly(executor);
    }
  });
}

/** `fanout`: one workflow starting N activities at once, dispatch to completion, and the peak RSS growth. */
export const fanoutCase: BenchCase = {
  name: 'fanout',
  dbs: SELECTABLE_DBS,
  async run(context) {
    for (const { size, workflow, via } of RUNS) await fanout(context, size, workflow, via);
  },
};
