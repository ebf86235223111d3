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
}

const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

/** One database of the comparison: its executor, the store its claim probes use, what was measured. */
interface Side {
  database: BenchDatabase;
  executor?: StentExecutor;
  store?: StentStore;
  ms: number[];
  claimExecutions: number[];
  claimSteps: number[];
}

/**
 * Runs `step` once on each side, in an order that alternates round by round: the two databases are
 * measured side by side, so the load other jobs put on the machine falls on both alike (measuring one
 * after the other, a busier minute passed for a difference between the databases).
 */
async function alternate(sides: [Side, Side], round: number, step: (side: Side) => Promise<void>): Promise<void> {
  for (const side of round % 2 === 0 ? sides : [sides[1], sides[0]]) await step(side);
}

/** Dispatch to completion of one-activity workflows, one after another on each side, in ms. */
async function latencies(sides: [Side, Side]): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await alternate(sides, i, async (side) => void (await side.executor!.waitFor(await side.executor!.dispatch(PingFlow, [i]), { timeout: '30s' })));
  }
  for (let i = 0; i < WORKFLOWS; i++) {
    await alternate(sides, i, async (side) => {
      const start = process.hrtime.bigint();
      const outcome = await side.executor!.waitFor<number>(await side.executor!.dispatch(PingFlow, [i]), { timeout: '30s' });
      side.ms.push(secondsSince(start) * 1000);
      if (!outcome.ok || outcome.value !== i + 1) throw new Error(`scale: PingFlow(${i}) ended ${outcome.state}`);
    });
  }
}

/**
 * What one claim round's two claim queries cost a worker serving the default queue when there is nothing
 * for it: the statements a busy worker runs all the time, whatever else waits in the tables.
 */
async function claimCost(sides: [Side, Side]): Promise<void> {
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
  for (let i = 0; i < CLAIM_PROBES; i++) {
    await alternate(sides, i, async (side) => {
      const store = side.store!;
      let start = process.hrtime.bigint();
      const claimed = await store.claimExecutions(filter());
      side.claimExecutions.push(secondsSince(start) * 1000);
      start = process.hrtime.bigint();
      const claimedSteps = await store.claimSteps({ ...filter(), names: ['BenchActivities.add'] });
      side.claimSteps.push(secondsSince(start) * 1000);
      if (claimed.length + claimedSteps.length > 0) throw new Error('scale: the claim probe took work; the default queue should be empty');
    });
  }
}

async function measure(db: Db, empty: BenchDatabase, big: BenchDatabase): Promise<{ empty: Figures; big: Figures; fillSeconds: number }> {
  const sides: [Side, Side] = [
    { database: empty, ms: [], claimExecutions: [], claimSteps: [] },
    { database: big, ms: [], claimExecutions: [], claimSteps: [] },
  ];
  for (const side of sides) await closeQuietly(await openExecutor(side.database.options, false));
  log(`${db}: scale, filling ${BIG.finished} finished executions, ${BIG.dueSteps} due steps and ${BIG.dueExecutions} due executions (queue unserved)`);
  const fillSeconds = await fillBigTables(big, BIG);
  log(`${db}: scale, tables filled in ${round(fillSeconds, 1)}s; measuring both databases side by side`);
  try {
    for (const side of sides) side.executor = await openExecutor(side.database.options, { concurrency: CONCURRENCY, unservedWarningInterval: false });
    await latencies(sides);
  } finally {
    for (const side of sides) await closeQuietly(side.executor);
  }
  try {
    for (const side of sides) side.store = await createStentStore({ database: side.database.options });
    await claimCost(sides);
  } finally {
    for (const side of sides) await side.store?.close();
  }
  const figures = ({ ms, claimExecutions, claimSteps }: Side): Figures => ({
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    mean: mean(ms),
    totalSeconds: ms.reduce((sum, value) => sum + value, 0) / 1000,
    claimExecutionsMs: percentile(claimExecutions, 50),
    claimStepsMs: percentile(claimSteps, 50),
  });
  return { empty: figures(sides[0]), big: figures(sides[1]), fillSeconds };
}

/**
 * `scale`: dispatch-to-completion latency of one-activity workflows, and what a worker's claim queries
 * cost, on an empty database and on one holding 1,000,000 finished executions (each with a step) and a
 * backlog of 100,000 due steps and 100,000 due executions in a queue no worker serves, both databases measured
 * side by side (alternating workflow by workflow). The line gives both and their ratios (the goal: within 2x).
 */
export const scaleCase: BenchCase = {
  name: 'scale',
  dbs: ALL_DBS,
  async run(context) {
    const { db } = context;
    log(`${db}: scale, ${WORKFLOWS} one-activity workflows one after another on an empty and a big database`);
    const { empty, big, fillSeconds } = await withFreshDatabase(db, 'scaleempty', (emptyDb) => withFreshDatabase(db, 'scalebig', (bigDb) => measure(db, emptyDb, bigDb)));
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
        fill_seconds: round(fillSeconds, 1),
      },
    });
  },
};
