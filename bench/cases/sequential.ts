import { withFreshDatabase } from '../database.js';
import { closeQuietly, openExecutor } from '../engine.js';
import { SELECTABLE_DBS } from '../options.js';
import { log, secondsSince } from '../report.js';
import { SequentialFlow } from '../workflows.js';
import type { BenchCase } from './bench-case.js';

const STEPS = 1000;
/**
 * Steps run before the timed workflow, in the same process, so the timed steps are what a long-running worker
 * pays: V8 keeps optimising the step path for about 2,000 steps (node CPU per step falls from about 0.5 ms after
 * 300 steps to 0.13-0.2 ms; before that, much of it is the optimising compiler itself), and a better-sqlite3
 * file's checkpointer thread (started at the 50th commit) is up. bench/dbos warms DBOS with as many.
 */
const WARM_UP_STEPS = 2000;

/** `sequential`: one workflow running 1,000 activities one after another, dispatch to completion. */
export const sequentialCase: BenchCase = {
  name: 'sequential',
  dbs: SELECTABLE_DBS,
  async run(context) {
    await withFreshDatabase(context.db, 'sequential', async (database) => {
      const executor = await openExecutor(database.options, { concurrency: 10 });
      try {
        // Warm-up (JIT, prepared statements, connection pool, helper threads), not timed.
        const warm = await executor.waitFor(await executor.dispatch(SequentialFlow, [WARM_UP_STEPS]), { timeout: '120s' });
        if (!warm.ok || warm.value !== WARM_UP_STEPS) throw new Error(`sequential warm-up returned ${JSON.stringify(warm)}`);

        log(`${context.db}: sequential, 1 workflow x ${STEPS} activities`);
        await context.startWindow();
        const start = process.hrtime.bigint();
        const id = await executor.dispatch(SequentialFlow, [STEPS]);
        const outcome = await executor.waitFor<number>(id, { timeout: '120s' });
        const seconds = secondsSince(start);
        if (!outcome.ok || outcome.value !== STEPS) throw new Error(`sequential workflow ${id} ended ${outcome.state} with ${JSON.stringify(outcome.ok ? outcome.value : String(outcome.error))}, expected ${STEPS}`);
        await context.emit({ case: 'sequential', db: context.db, workers: 1, steps: STEPS, seconds });
      } finally {
        await closeQuietly(executor);
      }
    });
  },
};
