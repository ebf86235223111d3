import type { WorkflowRef } from 'nestjs-stent';
import { withFreshDatabase } from '../database.js';
import { closeQuietly, describeUnfinished, dispatchMany, openExecutor, verifyResults, waitForAllFinal, warmUp } from '../engine.js';
import { ALL_DBS, type Db } from '../options.js';
import { log, round, secondsSince } from '../report.js';
import { startWorkers, stopWorkers, type WorkerProcess } from '../worker-pool.js';
import { KEYED_LIMIT, KeyedThreeStepFlow, TenantThreeStepFlow } from '../workflows.js';
import type { BenchCase } from './bench-case.js';

const WORKFLOWS = 2000;
const STEPS_PER_WORKFLOW = 3;
const KEYS = 20;
const CONCURRENCY = 50;
const TIMEOUT_MS = 120_000;
const PROCESSES: Record<Db, number> = { postgres: Number(process.env.FLOW_P ?? 2), sqlite: 1, sqlite3: 1 };
const DISPATCH_PARALLEL: Record<Db, number> = { postgres: 8, sqlite: 1, sqlite3: 1 };
/** What the limits may cost at most: keyed steps/s against the same run's unlimited steps/s. */
const MAX_COST = 0.25;
/** Workflows each variant runs untimed first, on its own workers: as many as it times (see throughput.ts). */
const WARM_UP_WORKFLOWS = WORKFLOWS;

/**
 * `flow_limits`: 2000 workflows x 3 activities over 20 tenants, once with the activity unlimited and
 * once with `concurrency: { key: tenant, limit: 2 }` (40 attempts at most at once across all workers),
 * on fresh databases with the same worker processes' settings, each after as many untimed. Reports both
 * rates and the cost of the limits against the goal (at most 25% of the unlimited rate), as the other cases
 * report their goals.
 *
 * A third run, unlimited on workers whose concurrency adds up to the keyed cap (40 attempts at once),
 * splits that cost in two: what running fewer attempts at once costs by itself (each process's group
 * commits carry fewer steps), and what the keyed claims and hand-offs add to it (`cost_vs_same_attempts`).
 */
export const flowLimitsCase: BenchCase = {
  name: 'flow_limits',
  dbs: ALL_DBS,
  async run(context) {
    const { db } = context;
    const processes = PROCESSES[db];
    // Each variant's line is emitted by its run, while its workers still answer, so its counters (commits,
    // statements, CPU of the worker processes and of the server) are that variant's alone.
    const unlimited = await runOnce('unlimited', TenantThreeStepFlow, CONCURRENCY, () => ({}));
    const sameAttempts = Math.ceil((KEYS * KEYED_LIMIT) / processes);
    const capped = await runOnce('unlimited_same_attempts', TenantThreeStepFlow, sameAttempts, () => ({}));
    let cost = 0;
    await runOnce('keyed', KeyedThreeStepFlow, CONCURRENCY, (stepsPerSecond) => {
      cost = 1 - stepsPerSecond / unlimited;
      return {
        unlimited_steps_per_s: Math.round(unlimited),
        cost_of_limits: `${round(cost * 100, 1)}%`,
        within_goal: cost <= MAX_COST,
        same_attempts_steps_per_s: Math.round(capped),
        cost_vs_same_attempts: `${round((1 - stepsPerSecond / capped) * 100, 1)}%`,
      };
    });
    if (cost > MAX_COST) log(`${db}: flow_limits: per-key limits cost ${round(cost * 100, 1)}% of the unlimited throughput (goal: at most ${MAX_COST * 100}%)`);

    /** Runs one variant on a fresh database, emits its line, and returns its steps/s. */
    async function runOnce(
      variant: 'unlimited' | 'unlimited_same_attempts' | 'keyed',
      workflow: WorkflowRef<unknown> & { name: string },
      concurrency: number,
      compared: (stepsPerSecond: number) => Record<string, unknown>,
    ): Promise<number> {
      return withFreshDatabase(db, `flowlimits_${variant}`, async (database) => {
        const dispatcher = await openExecutor(database.options, false);
        let workers: WorkerProcess[] = [];
        try {
          workers = await startWorkers(processes, { database: database.options, worker: { concurrency }, profileDir: context.profileDir });
          log(`${db}: flow_limits (${variant}), ${WORKFLOWS} workflows x ${STEPS_PER_WORKFLOW} activities over ${KEYS} keys on ${processes} worker process(es) of concurrency ${concurrency}`);
          await warmUp(dispatcher, workflow, Array.from({ length: WARM_UP_WORKFLOWS }, (_, i) => [`tenant-${i % KEYS}`, -1 - i]), DISPATCH_PARALLEL[db], TIMEOUT_MS);
          await context.startWindow(async () => (await Promise.all(workers.map((worker) => worker.stats()))).map((snapshot) => snapshot.usage));
          const start = process.hrtime.bigint();
          const args = Array.from({ length: WORKFLOWS }, (_, i) => [`tenant-${i % KEYS}`, i]);
          await dispatchMany(dispatcher, workflow, args, DISPATCH_PARALLEL[db]);
          try {
            await waitForAllFinal(dispatcher, workflow.name, WARM_UP_WORKFLOWS + WORKFLOWS, TIMEOUT_MS);
          } catch (error) {
            throw new Error(`${(error as Error).message}\n${await describeUnfinished(dispatcher, workflow.name)}`);
          }
          const seconds = secondsSince(start);
          const stepsPerSecond = (WORKFLOWS * STEPS_PER_WORKFLOW) / seconds;
          await context.emit({
            case: 'flow_limits',
            db,
            workers: processes,
            steps: WORKFLOWS * STEPS_PER_WORKFLOW,
            seconds,
            extra: { variant, keys: KEYS, limit_per_key: variant === 'keyed' ? KEYED_LIMIT : null, concurrency, ...compared(stepsPerSecond) },
          });
          await verifyResults(dispatcher, workflow.name, (a) => (a[1] as number) + STEPS_PER_WORKFLOW);
          return stepsPerSecond;
        } finally {
          await stopWorkers(workers);
          await closeQuietly(dispatcher);
        }
      });
    }
  },
};
