/**
 * `npm run bench`: Stent's benchmarks (DESIGN §8). One JSON object per result line on stdout, progress on
 * stderr. `--db sqlite|postgres` and `--case NAME` narrow the run. Every case gets a fresh database: a
 * SQLite file in a temp dir, or a new schema in STENT_BENCH_POSTGRES_URL (dropped afterwards). Every
 * result line carries what a step cost: commits, statements, node CPU and the database's CPU (usage.ts),
 * and whether its rate fell more than 30% below the recorded one (baselines.ts). `--profile` writes a CPU
 * profile of one case.
 */
import { cleanUpEverything, installExitHandlers } from './cleanup.js';
import { POSTGRES_URL, postgresUnreachable } from './database.js';
import { parseOptions, type BenchOptions, type Db } from './options.js';
import { emit, log, round, stepsPerSecond, type Measurement } from './report.js';
import { isRegression } from './baselines.js';
import { CpuProfile } from './profiler.js';
import { serverCommits } from './server-usage.js';
import { installSqlCounter, sqlCounts, sqlCountsSince, takeSqlTrace, takeSqlTraceMs } from './sql-counter.js';
import { perStep, UsageWindow, type RemoteUsage, type UsageFigures } from './usage.js';
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

/** Builds the context one case runs in: its counting window, its profile, and how its lines are printed. */
function contextFor(db: Db, options: BenchOptions, caseName: () => string): CaseContext & { settle(): Promise<void> } {
  let window: UsageWindow | undefined;
  let profile: CpuProfile | undefined;
  let profiles = 0;
  const pending = new Set<Promise<void>>();
  const profiling = () => options.profileDir !== undefined && caseName() !== 'commit_limit';

  async function startWindow(remote?: RemoteUsage): Promise<void> {
    window = await UsageWindow.open(db, remote);
    takeSqlTrace();
    takeSqlTraceMs();
    if (profiling()) {
      await profile?.discard();
      profile = await CpuProfile.start();
    }
  }

  /** What endWindow() counted, for the next line. */
  let ended: UsageFigures | undefined;

  async function endWindow(): Promise<void> {
    ended = window ? await window.close() : undefined;
    window = undefined;
  }

  async function emitNow(measurement: Measurement): Promise<void> {
    const usage = measurement.case === 'commit_limit' ? undefined : (ended ?? (window ? await window.close() : undefined));
    window = ended = undefined;
    if (profile) {
      const file = await profile.stop(options.profileDir!, `${db}-${measurement.case}-${++profiles}`);
      profile = undefined;
      log(`${db}: CPU profile of ${measurement.case} written to ${file}`);
    }
    const limit = context.commitLimit;
    const extra: Record<string, unknown> = { ...measurement.extra };
    if (usage && measurement.steps > 0) Object.assign(extra, perStep(usage, measurement.steps));
    if (measurement.case !== 'commit_limit' && measurement.steps > 0 && limit) {
      // How close the engine comes to the database's own single-client, single-row commit rate.
      const ratio = stepsPerSecond(measurement.steps, measurement.seconds) / limit;
      extra.vs_commit_limit = round(ratio, 3);
      extra.regression = isRegression(measurement, ratio);
    }
    emit({ ...measurement, extra });
    const traceMs = takeSqlTraceMs();
    for (const [sql, times] of takeSqlTrace()) {
      const ms = traceMs.has(sql) ? ` ${Math.round(traceMs.get(sql)!)}ms` : '';
      log(`  sql x${times}${ms}: ${sql.replace(/\s+/g, ' ').slice(0, Number(process.env.STENT_BENCH_SQL_TRACE) > 1 ? undefined : 400)}`);
    }
    // The next line of the same case counts from here unless the case starts its own window.
    await startWindow();
  }

  const context = {
    db,
    commitLimit: undefined as number | undefined,
    profileDir: undefined as string | undefined,
    startWindow,
    endWindow,
    emit(measurement: Measurement): Promise<void> {
      const done = emitNow(measurement);
      pending.add(done);
      return done.finally(() => pending.delete(done));
    },
    /** Waits for lines a case emitted without awaiting them, and drops the open window and profile. */
    async settle(): Promise<void> {
      await Promise.allSettled([...pending]);
      window = ended = undefined;
      await profile?.discard();
      profile = undefined;
    },
  };
  return context;
}

/** Runs the selected cases on one database; returns how many failed. */
async function runDatabase(db: Db, options: BenchOptions): Promise<number> {
  let current = 'commit_limit';
  const context = contextFor(db, options, () => current);
  let failures = 0;
  const attempt = async (name: string, body: () => Promise<void>): Promise<void> => {
    const started = Date.now();
    current = name;
    context.profileDir = options.profileDir;
    const commitsBefore = db === 'postgres' ? await serverCommits().catch(() => undefined) : undefined;
    const countedBefore = sqlCounts();
    try {
      await context.startWindow();
      await body();
      await context.settle();
      log(`${db}: ${name} done in ${round((Date.now() - started) / 1000, 1)}s`);
    } catch (error) {
      await context.settle();
      failures++;
      log(`${db}: ${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    if (commitsBefore !== undefined) {
      // The client-side count checked against the server's, now that the case's connections are closed
      // and their statistics flushed (worker processes' own transactions are in the server's figure only).
      const commitsAfter = await serverCommits().catch(() => undefined);
      if (commitsAfter !== undefined) log(`${db}: ${name}: pg_stat_database.xact_commit +${commitsAfter - commitsBefore}, counted in this process ${sqlCountsSince(countedBefore).transactions}`);
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
  installSqlCounter();
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
