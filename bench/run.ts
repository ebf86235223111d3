/**
 * `npm run bench`: Stent's benchmarks (DESIGN §8). One JSON object per result line on stdout, progress on
 * stderr. `--db sqlite|postgres` and `--case NAME` narrow the run. Every case gets a fresh database: a
 * SQLite file in a temp dir, or a new schema in STENT_BENCH_POSTGRES_URL (dropped afterwards).
 */
import { cleanUpEverything, installExitHandlers } from './cleanup.js';
import { POSTGRES_URL, postgresUnreachable } from './database.js';
import { parseOptions, type BenchOptions, type Db } from './options.js';
import { emit, log, round, stepsPerSecond, type Measurement } from './report.js';
import type { BenchCase, CaseContext } from './cases/bench-case.js';
import { measureCommitLimit } from './cases/commit-limit.js';
import { sequentialCase } from './cases/sequential.js';
import { fanoutCase } from './cases/fanout.js';
import { throughputCase } from './cases/throughput.js';
import { latencyCase } from './cases/latency.js';
import { sleepersCase } from './cases/sleepers.js';
import { dashboardCase } from './cases/dashboard.js';
import { longHistoryCase } from './cases/long-history.js';
import { scaleCase } from './cases/scale.js';
import { flowLimitsCase } from './cases/flow-limits.js';

const ENGINE_CASES: BenchCase[] = [sequentialCase, fanoutCase, throughputCase, latencyCase, sleepersCase, longHistoryCase, scaleCase, dashboardCase, flowLimitsCase];

function contextFor(db: Db): CaseContext {
  const context: CaseContext = {
    db,
    commitLimit: undefined,
    emit(measurement: Measurement) {
      const limit = context.commitLimit;
      if (measurement.case !== 'commit_limit' && measurement.steps > 0 && limit) {
        // How close the engine comes to the database's own single-client, single-row commit rate.
        const ratio = stepsPerSecond(measurement.steps, measurement.seconds) / limit;
        measurement = { ...measurement, extra: { ...measurement.extra, vs_commit_limit: round(ratio, 3) } };
      }
      emit(measurement);
    },
  };
  return context;
}

/** Runs the selected cases on one database; returns how many failed. */
async function runDatabase(db: Db, options: BenchOptions): Promise<number> {
  const context = contextFor(db);
  let failures = 0;
  const attempt = async (name: string, body: () => Promise<void>): Promise<void> => {
    const started = Date.now();
    try {
      await body();
      log(`${db}: ${name} done in ${round((Date.now() - started) / 1000, 1)}s`);
    } catch (error) {
      failures++;
      log(`${db}: ${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  };
  await attempt('commit_limit', async () => {
    context.commitLimit = await measureCommitLimit(context, options.cases.includes('commit_limit'));
  });
  for (const benchCase of ENGINE_CASES) {
    if (!options.cases.includes(benchCase.name) || !benchCase.dbs.includes(db)) continue;
    await attempt(benchCase.name, () => benchCase.run(context));
  }
  return failures;
}

async function main(): Promise<number> {
  installExitHandlers();
  const options = parseOptions(process.argv.slice(2));
  log(`databases: ${options.dbs.join(', ')}; cases: ${options.cases.join(', ')}`);
  const started = Date.now();
  let failures = 0;
  for (const db of options.dbs) {
    if (db === 'postgres') {
      const reason = await postgresUnreachable();
      if (reason) {
        log(`postgres: skipped, ${POSTGRES_URL.replace(/\/\/[^@/]*@/, '//***@')} is unreachable (${reason}); set STENT_BENCH_POSTGRES_URL`);
        continue;
      }
    }
    failures += await runDatabase(db, options);
  }
  log(`finished in ${round((Date.now() - started) / 1000, 1)}s${failures ? ` with ${failures} failed case(s)` : ''}`);
  return failures ? 1 : 0;
}

main()
  .then(async (code) => {
    await cleanUpEverything();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    log(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanUpEverything();
    process.exit(1);
  });
