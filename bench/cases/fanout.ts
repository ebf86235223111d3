import { withFreshDatabase } from '../database.js';
import { closeQuietly, openExecutor } from '../engine.js';
import { ALL_DBS } from '../options.js';
import { log, secondsSince } from '../report.js';
import { FanoutFlow } from '../workflows.js';
import type { BenchCase } from './bench-case.js';

/** DESIGN §8 names 2000 activities, the targets 1000: both run, told apart by `steps`. */
const SIZES = [1000, 2000];
const CONCURRENCY = 100;

/** `fanout`: one workflow starting N activities at once with Promise.all, dispatch to completion. */
export const fanoutCase: BenchCase = {
  name: 'fanout',
  dbs: ALL_DBS,
  async run(context) {
    for (const size of SIZES) {
      await withFreshDatabase(context.db, `fanout${size}`, async (database) => {
        const executor = await openExecutor(database.options, { concurrency: CONCURRENCY });
        try {
          const warm = await executor.waitFor(await executor.dispatch(FanoutFlow, [50]), { timeout: '60s' });
          if (!warm.ok) throw new Error(`fanout warm-up failed: ${String(warm.error)}`);

          log(`${context.db}: fanout, 1 workflow x ${size} activities (worker concurrency ${CONCURRENCY})`);
          const start = process.hrtime.bigint();
          const id = await executor.dispatch(FanoutFlow, [size]);
          const outcome = await executor.waitFor<number>(id, { timeout: '180s' });
          const seconds = secondsSince(start);
          const expected = (size * (size + 1)) / 2;
          if (!outcome.ok || outcome.value !== expected) {
            throw new Error(`fanout workflow ${id} ended ${outcome.state} with ${JSON.stringify(outcome.ok ? outcome.value : String(outcome.error))}, expected ${expected}`);
          }
          context.emit({ case: 'fanout', db: context.db, workers: 1, steps: size, seconds, extra: { concurrency: CONCURRENCY } });
        } finally {
          await closeQuietly(executor);
        }
      });
    }
  },
};
