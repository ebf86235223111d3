import { withFreshDatabase } from '../database.js';
import { closeQuietly, describeUnfinished, dispatchMany, openExecutor, verifyResults, waitForAllFinal, warmUp } from '../engine.js';
import { ALL_DBS, type Db } from '../options.js';
import { log, round, secondsSince } from '../report.js';
import { startWorkers, stopWorkers, type WorkerProcess } from '../worker-pool.js';
import { ThreeStepFlow } from '../workflows.js';
import type { BenchCase } from './bench-case.js';

const WORKFLOWS = 2000;
const STEPS_PER_WORKFLOW = 3;
const CONCURRENCY = 50;
/** A run normally takes a few seconds; past this it is reported as stuck. */
const TIMEOUT_MS = 60_000;
/** Worker process counts: several on PostgreSQL; on SQLite 1 and 2 processes sharing one file. */
const PROCESSES: Record<Db, number[]> = { postgres: [1, 2, 4], sqlite: [1, 2], sqlite3: [1, 2] };
/** Dispatches in flight at once from the dispatching process. */
const DISPATCH_PARALLEL: Record<Db, number> = { postgres: 8, sqlite: 1, sqlite3: 1 };
/**
 * Workflows run untimed first, as many as the timed run (bench/dbos warms DBOS with as many): each worker
 * process compiles the engine's code on its own, and without a warm-up that compiling fell inside the timed
 * run once per process, so more processes measured more of it (see sequential.ts on how much warming weighs).
 */
const WARM_UP_WORKFLOWS = WORKFLOWS;

/**
 * `throughput`: 2000 workflows x 3 activities run by N worker processes (forked bench/worker-process.js),
 * after as many untimed; this process only dispatches (worker: false) and waits. Time runs from the first
 * timed dispatch until every execution is completed; steps are the 6000 activities.
 */
export const throughputCase: BenchCase = {
  name: 'throughput',
  dbs: ALL_DBS,
  async run(context) {
    const { db } = context;
    const failures: string[] = [];
    // STENT_BENCH_PROCESSES=4 (a comma list) narrows the process counts, to profile or trace one of them.
    const only = process.env.STENT_BENCH_PROCESSES?.split(',').map(Number);
    for (const processes of PROCESSES[db].filter((n) => !only || only.includes(n))) {
      await runWith(processes).catch((error: unknown) => {
        const message = `${processes} worker process(es): ${error instanceof Error ? error.message : String(error)}`;
        log(`${db}: throughput FAILED with ${message}`);
        failures.push(message);
      });
    }
    if (failures.length) throw new Error(`throughput failed for ${failures.length} of ${PROCESSES[db].length} process counts (details above)`);

    async function runWith(processes: number): Promise<void> {
      await withFreshDatabase(db, `throughput${processes}`, async (database) => {
        const dispatcher = await openExecutor(database.options, false);
        let workers: WorkerProcess[] = [];
        try {
          workers = await startWorkers(processes, { database: database.options, worker: { concurrency: CONCURRENCY }, profileDir: context.profileDir });
          log(`${db}: throughput, ${WORKFLOWS} workflows x ${STEPS_PER_WORKFLOW} activities on ${processes} worker process(es) (pids ${workers.map((w) => w.pid).join(', ')})`);
          await warmUp(dispatcher, ThreeStepFlow, Array.from({ length: WARM_UP_WORKFLOWS }, (_, i) => [-1 - i]), DISPATCH_PARALLEL[db], TIMEOUT_MS);
          const warm = await Promise.all(workers.map((worker) => worker.stats()));
          const warmSteps = warm.map((snapshot) => snapshot.counters.stepsCompleted);
          await context.startWindow(async () => (await Promise.all(workers.map((worker) => worker.stats()))).map((snapshot) => snapshot.usage));
          const start = process.hrtime.bigint();
          const args = Array.from({ length: WORKFLOWS }, (_, i) => [i]);
          await dispatchMany(dispatcher, ThreeStepFlow, args, DISPATCH_PARALLEL[db]);
          const dispatchSeconds = secondsSince(start);
          try {
            await waitForAllFinal(dispatcher, 'ThreeStepFlow', WARM_UP_WORKFLOWS + WORKFLOWS, TIMEOUT_MS);
          } catch (error) {
            const snapshots = await Promise.all(workers.map((worker) => worker.stats().catch((e: unknown) => String(e))));
            throw new Error(`${(error as Error).message}\n${await describeUnfinished(dispatcher, 'ThreeStepFlow')}\nworker processes: ${JSON.stringify(snapshots)}`);
          }
          const seconds = secondsSince(start);
          const perWorker = await Promise.all(workers.map((worker) => worker.stats()));
          await verifyResults(dispatcher, 'ThreeStepFlow', (a) => (a[0] as number) + STEPS_PER_WORKFLOW);
          const stepsRun = perWorker.map((snapshot, i) => snapshot.counters.stepsCompleted - warmSteps[i]!);
          if (stepsRun.reduce((a, b) => a + b, 0) < WORKFLOWS * STEPS_PER_WORKFLOW) {
            throw new Error(`worker processes report ${stepsRun.join('+')} completed activities, expected at least ${WORKFLOWS * STEPS_PER_WORKFLOW}`);
          }
          await context.emit({
            case: 'throughput',
            db,
            workers: processes,
            steps: WORKFLOWS * STEPS_PER_WORKFLOW,
            seconds,
            extra: {
              workflows: WORKFLOWS,
              workflows_per_s: Math.round(WORKFLOWS / seconds),
              dispatch_seconds: round(dispatchSeconds, 3),
              concurrency: CONCURRENCY,
              steps_by_worker: stepsRun,
              warm_up_steps_by_worker: warmSteps,
              suspensions: perWorker.reduce((sum, snapshot, i) => sum + snapshot.counters.suspensions - warm[i]!.counters.suspensions, 0),
              replays: perWorker.reduce((sum, snapshot, i) => sum + snapshot.counters.replays - warm[i]!.counters.replays, 0),
            },
          });
        } finally {
          await stopWorkers(workers);
          await closeQuietly(dispatcher);
        }
      });
    }
  },
};
