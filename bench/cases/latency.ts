import { withFreshDatabase } from '../database.js';
import { closeQuietly, openExecutor } from '../engine.js';
import { SELECTABLE_DBS } from '../options.js';
import { percentile } from '../percentile.js';
import { log, round } from '../report.js';
import { PingFlow } from '../workflows.js';
import type { BenchCase } from './bench-case.js';

/** Untimed dispatches first, as many as bench/dbos runs: the timed ones measure a warm process (see sequential.ts). */
const WARM_UP = 2000;
const SAMPLES = 300;

/** `latency`: dispatch to completion of a 1-activity workflow, one at a time, after a warm-up. */
export const latencyCase: BenchCase = {
  name: 'latency',
  dbs: SELECTABLE_DBS,
  async run(context) {
    await withFreshDatabase(context.db, 'latency', async (database) => {
      const executor = await openExecutor(database.options, { concurrency: 10 });
      try {
        const once = async (seed: number): Promise<number> => {
          const start = process.hrtime.bigint();
          const outcome = await executor.waitFor<number>(await executor.dispatch(PingFlow, [seed]), { timeout: '30s' });
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          if (!outcome.ok || outcome.value !== seed + 1) throw new Error(`latency workflow ${seed} ended ${outcome.state} with ${JSON.stringify(outcome.ok ? outcome.value : String(outcome.error))}`);
          return ms;
        };
        for (let i = 0; i < WARM_UP; i++) await once(-i);
        log(`${context.db}: latency, ${SAMPLES} x (dispatch + 1 activity + completion), one at a time`);
        await context.startWindow();
        const samples: number[] = [];
        for (let i = 0; i < SAMPLES; i++) samples.push(await once(i));
        const totalMs = samples.reduce((a, b) => a + b, 0);
        await context.emit({
          case: 'latency',
          db: context.db,
          workers: 1,
          steps: SAMPLES,
          seconds: totalMs / 1000,
          extra: { p50_ms: round(percentile(samples, 50), 2), p99_ms: round(percentile(samples, 99), 2), max_ms: round(Math.max(...samples), 2) },
        });
      } finally {
        await closeQuietly(executor);
      }
    });
  },
};
