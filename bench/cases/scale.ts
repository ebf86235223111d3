import { createStentStore, type StentExecutor, type StentStore } from 'nestjs-stent';
import { fillBigTables, type BigTables } from '../big-tables.js';
import { withFreshDatabase, type BenchDatabase } from '../database.js';
import { closeQuietly, openExecutor } from '../engine.js';
import { ALL_DBS, type Db } from '../options.js';
import { percentile } from '../percentile.js';
import { log, round, secondsSince } from '../report.js';
import { PingFlow } from '../workflows.js';
import type { BenchCase } from './bench-case.js';

const BIG: BigTables = { finished: 1_000_000, dueSteps: 100_000, backlogExecutions: 1_000, dueExecutions: 100_000 };
const WORKFLOWS = 200;
const CLAIM_PROBES = 200;
const CONCURRENCY = 10;

type ClaimFilter = Parameters<StentStore['claimExecutions']>[0];

interface Figures {
  p50: number;
  p99: number;
  mean: number;
  totalSeconds: number;
  claimExecutionsMs: number;
  claimStepsMs: number;
  fillSeconds: number;
}

const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

/** Dispatch to completion of one-activity workflows, one after another, in ms. */
async function latencies(executor: StentExecutor): Promise<number[]> {
  for (let i = 0; i < 20; i++) await executor.waitFor(await executor.dispatch(PingFlow, [i]), { timeout: '30s' });
  const ms: number[] = [];
  for (let i = 0; i < WORKFLOWS; i++) {
    const start = process.hrtime.bigint();
    const outcome = await executor.waitFor<number>(await executor.dispatch(PingFlow, [i]), { timeout: '30s' });
    ms.push(secondsSince(start) * 1000);
    if (!outcome.ok || outcome.value !== i + 1) throw new Error(`scale: PingFlow(${i}) ended ${outcome.state}`);
  }
  return ms;
}

/**
 * What one claim round's two claim queries cost a worker serving the default queue when there is nothing
 * for it (median ms): the statements a busy worker runs all the time, whatever else waits in the tables.
 */
async function claimCost(database: BenchDatabase): Promise<{ executions: number; steps: number }> {
  const store = await createStentStore({ database: database.options });
  try {
    const filter = (): ClaimFilter => ({
      owner: 'bench-claim-probe',
      names: ['PingFlow', 'FanoutFlow'],
      queues: ['default'],
      tags: [],
      limit: CONCURRENCY,
      now: Date.now(),
      leaseMs: 30_000,
      limits: new Map(),
    });
    const executions: number[] = [];
    const steps: number[] = [];
    for (let i = 0; i < CLAIM_PROBES; i++) {
      let start = process.hrtime.bigint();
      const claimed = await store.claimExecutions(filter());
      executions.push(secondsSince(start) * 1000);
      start = process.hrtime.bigint();
      const stepFilter = { ...filter(), names: ['BenchActivities.add'] };
      const claimedSteps = await store.claimSteps(stepFilter);
      steps.push(secondsSince(start) * 1000);
      if (claimed.length + claimedSteps.length > 0) throw new Error('scale: the claim probe took work; the default queue should be empty');
    }
    return { executions: percentile(executions, 50), steps: percentile(steps, 50) };
  } finally {
    await store.close();
  }
}

async function measure(db: Db, big: BigTables | null): Promise<Figures> {
  return withFreshDatabase(db, big ? 'scalebig' : 'scaleempty', async (database) => {
    const migrate = await openExecutor(database.options, false);
    await closeQuietly(migrate);
    let fillSeconds = 0;
    if (big) {
      log(`${db}: scale, filling ${big.finished} finished executions, ${big.dueSteps} due steps and ${big.dueExecutions} due executions (queue unserved)`);
      fillSeconds = await fillBigTables(database, big);
      log(`${db}: scale, tables filled in ${round(fillSeconds, 1)}s`);
    }
    const executor = await openExecutor(database.options, { concurrency: CONCURRENCY, unservedWarningInterval: false });
    let ms: number[];
    try {
      ms = await latencies(executor);
    } finally {
      await closeQuietly(executor);
    }
    const claims = await claimCost(database);
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), mean: mean(ms), totalSeconds: ms.reduce((sum, value) => sum + value, 0) / 1000, claimExecutionsMs: claims.executions, claimStepsMs: claims.steps, fillSeconds };
  });
}

/**
 * `scale`: dispatch-to-completion latency of one-activity workflows, and what a worker's claim queries
 * cost, on an empty database and on one holding 1,000,000 finished executions (each with a step) and a
 * backlog of 100,000 due steps and 100,000 due executions in a queue no worker serves. The line gives both
 * and their ratios (the goal: within 2x).
 */
export const scaleCase: BenchCase = {
  name: 'scale',
  dbs: ALL_DBS,
  async run(context) {
    const { db } = context;
    log(`${db}: scale, ${WORKFLOWS} one-activity workflows one after another, empty database`);
    const empty = await measure(db, null);
    const big = await measure(db, BIG);
    const ratio = (a: number, b: number): number => round(a / Math.max(b, 0.001), 2);
    context.emit({
      case: 'scale',
      db,
      workers: 1,
      steps: WORKFLOWS,
      seconds: big.totalSeconds,
      extra: {
        finished_executions: BIG.finished,
        due_steps: BIG.dueSteps,
        due_executions: BIG.dueExecutions,
        p50_ms: round(big.p50, 2),
        p50_empty_ms: round(empty.p50, 2),
        p50_vs_empty: ratio(big.p50, empty.p50),
        p99_ms: round(big.p99, 2),
        p99_empty_ms: round(empty.p99, 2),
        mean_vs_empty: ratio(big.mean, empty.mean),
        claim_executions_ms: round(big.claimExecutionsMs, 3),
        claim_executions_empty_ms: round(empty.claimExecutionsMs, 3),
        claim_steps_ms: round(big.claimStepsMs, 3),
        claim_steps_empty_ms: round(empty.claimStepsMs, 3),
        claim_vs_empty: ratio(big.claimExecutionsMs + big.claimStepsMs, empty.claimExecutionsMs + empty.claimStepsMs),
        fill_seconds: round(big.fillSeconds, 1),
      },
    });
  },
};
