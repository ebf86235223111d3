import type { StentExecutor } from 'nestjs-stent';
import { withFreshDatabase, type BenchDatabase } from '../database.js';
import { closeQuietly, countFinal, describeUnfinished, dispatchMany, openExecutor, verifyResults, waitForAllFinal } from '../engine.js';
import { ALL_DBS, type Db } from '../options.js';
import { log, mb, round, secondsSince } from '../report.js';
import { WorkerProcess } from '../worker-pool.js';
import type { WorkerSnapshot } from '../worker-protocol.js';
import { PingFlow, SleepFlow, SleepUntilFlow } from '../workflows.js';
import type { BenchCase, CaseContext } from './bench-case.js';

const SLEEPERS = 10_000;
const CONCURRENCY = 10;
/** Below the engine's default of '1s', so 10,000 sleepers leave memory quickly. */
const SUSPEND_AFTER = '250ms';
const DISPATCH_PARALLEL: Record<Db, number> = { postgres: 8, sqlite: 1, sqlite3: 1 };
const SETTLE_TIMEOUT_MS = 180_000;
const STALL_MS = 15_000;
const SETTLE_MEMORY_MS = 30_000;
const SETTLED_SAMPLES = 8;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Settled {
  allSuspended: boolean;
  last: WorkerSnapshot;
  peakRss: number;
}

/**
 * Polls the worker until every sleeper is suspended and none is held in memory, or until `untilWall`;
 * throws when the worker makes no progress at all for STALL_MS.
 */
async function waitUntilSuspended(worker: WorkerProcess, expected: number, untilWall: number): Promise<Settled> {
  let peakRss = 0;
  let lastKey = '';
  let lastProgressAt = Date.now();
  for (;;) {
    const last = await worker.stats();
    peakRss = Math.max(peakRss, last.rss);
    if (last.counters.suspendedNow >= expected && last.worker.activeWorkflows === 0) return { allSuspended: true, last, peakRss };
    const now = Date.now();
    if (now >= untilWall) return { allSuspended: false, last, peakRss };
    const key = `${last.counters.started}/${last.counters.suspensions}/${last.counters.finished}`;
    if (key !== lastKey) {
      lastKey = key;
      lastProgressAt = now;
    } else if (now - lastProgressAt > STALL_MS) {
      throw new Error(`sleepers: the worker made no progress for ${STALL_MS / 1000}s: ${describe(last)}`);
    }
    await pause(100);
  }
}

/**
 * The worker's memory once it has settled: V8 and malloc hand memory back to the system a few seconds
 * after a burst (V8's memory reducer runs when allocation stops), so a reading taken right after the
 * burst mostly counts free pages not yet returned. Samples every second (after a full GC) until the
 * resident size has not dropped by more than 1 MB for SETTLED_SAMPLES samples, or SETTLE_MEMORY_MS passed.
 */
async function settledMemory(worker: WorkerProcess): Promise<WorkerSnapshot> {
  const deadline = Date.now() + SETTLE_MEMORY_MS;
  let best = await worker.stats(true);
  let flat = 0;
  while (flat < SETTLED_SAMPLES && Date.now() < deadline) {
    await pause(1000);
    const next = await worker.stats(true);
    flat = next.rss < best.rss - 1024 * 1024 ? 0 : flat + 1;
    if (next.rss < best.rss) best = next;
  }
  return best;
}

function describe(snapshot: WorkerSnapshot): string {
  const { counters, worker } = snapshot;
  return `started ${counters.started}, suspended now ${counters.suspendedNow}, suspensions ${counters.suspensions}, finished ${counters.finished}, in memory ${worker.activeWorkflows}, running activities ${worker.runningActivities}`;
}

/** The journal of a sleeper must hold one sleep step, waiting, due about `sleepMs` after it was recorded. */
async function checkSleepJournal(executor: StentExecutor, id: string, minSleepMs: number): Promise<void> {
  const journal = await executor.getJournal(id);
  const sleep = journal.find((entry) => entry.kind === 'sleep');
  if (!sleep) throw new Error(`sleeper ${id}: no sleep step in its journal (${JSON.stringify(journal.map((e) => [e.kind, e.state]))})`);
  if (sleep.state !== 'waiting') throw new Error(`sleeper ${id}: sleep step is '${sleep.state}', expected 'waiting'`);
  const due = (sleep.fireAt?.getTime() ?? 0) - sleep.createdAt.getTime();
  if (due < minSleepMs - 1000) throw new Error(`sleeper ${id}: sleep step due ${due} ms after it was recorded, expected ~${minSleepMs} ms`);
}

async function withSleeperSetup<T>(database: BenchDatabase, use: (dispatcher: StentExecutor, worker: WorkerProcess, baseline: WorkerSnapshot) => Promise<T>): Promise<T> {
  const dispatcher = await openExecutor(database.options, false);
  let worker: WorkerProcess | undefined;
  try {
    worker = await WorkerProcess.start({ database: database.options, worker: { concurrency: CONCURRENCY, suspendAfter: SUSPEND_AFTER } });
    const baseline = await settledMemory(worker);
    return await use(dispatcher, worker, baseline);
  } finally {
    await worker?.stop();
    await closeQuietly(dispatcher);
  }
}

/** Phase 1: 10,000 one-hour sleepers; worker memory once all are suspended, and its activity slots. */
async function suspendedForAnHour(context: CaseContext): Promise<number> {
  const { db } = context;
  return withFreshDatabase(db, 'sleepers1h', (database) =>
    withSleeperSetup(database, async (dispatcher, worker, baseline) => {
      log(`${db}: sleepers, ${SLEEPERS} workflows sleeping 1h (worker pid ${worker.pid}, suspendAfter ${SUSPEND_AFTER})`);
      const start = process.hrtime.bigint();
      const ids = await dispatchMany(dispatcher, SleepFlow, Array.from({ length: SLEEPERS }, () => ['1h']), DISPATCH_PARALLEL[db]);
      const dispatchSeconds = secondsSince(start);
      const settled = await waitUntilSuspended(worker, SLEEPERS, Date.now() + SETTLE_TIMEOUT_MS);
      const seconds = secondsSince(start);
      if (!settled.allSuspended) throw new Error(`sleepers (1h): not all suspended after ${SETTLE_TIMEOUT_MS / 1000}s: ${describe(settled.last)}`);
      const immediate = await worker.stats(true);
      const { final } = await countFinal(dispatcher, 'SleepFlow');
      if (final !== 0) throw new Error(`sleepers (1h): ${final} executions already final, none should be`);
      await checkSleepJournal(dispatcher, ids[0]!, 3_600_000);
      await checkSleepJournal(dispatcher, ids[ids.length - 1]!, 3_600_000);
      // The sleepers hold no activity slot: a fresh 1-activity workflow runs at once.
      const probeStart = process.hrtime.bigint();
      const probe = await dispatcher.waitFor(await dispatcher.dispatch(PingFlow, [41]), { timeout: '30s' });
      const probeMs = secondsSince(probeStart) * 1000;
      if (!probe.ok || probe.value !== 42) throw new Error(`sleepers (1h): probe workflow ended ${probe.state}`);
      // Still 10,000 sleepers, none in memory: the resident size they cost once the worker has settled.
      const after = await settledMemory(worker);
      if (after.counters.suspendedNow !== SLEEPERS || after.worker.activeWorkflows !== 0) throw new Error(`sleepers (1h): sleepers woke or were reloaded: ${describe(after)}`);
      context.emit({
        case: 'sleepers',
        db,
        workers: 1,
        steps: SLEEPERS,
        seconds,
        extra: {
          sleep: '1h',
          suspended: after.counters.suspendedNow,
          rss_growth_mb: mb(after.rss - baseline.rss),
          rss_growth_at_suspension_mb: mb(immediate.rss - baseline.rss),
          rss_baseline_mb: mb(baseline.rss),
          rss_peak_mb: mb(Math.max(settled.peakRss, immediate.rss)),
          heap_growth_mb: mb(after.heapUsed - baseline.heapUsed),
          external_growth_mb: mb(after.external - baseline.external),
          in_memory: after.worker.activeWorkflows,
          free_slots: after.worker.concurrency - after.worker.runningActivities,
          concurrency: after.worker.concurrency,
          probe_ms: round(probeMs, 1),
          dispatch_seconds: round(dispatchSeconds, 3),
        },
      });
      return seconds;
    }),
  );
}

/**
 * Phase 2: 10,000 sleepers that all come due at the same moment (at least 3s after dispatch, and late
 * enough for all to be suspended first, judged from phase 1); memory once suspended, then the time from
 * the common wake-up until every one has completed.
 */
async function wakeTogether(context: CaseContext, settleSeconds: number): Promise<void> {
  const { db } = context;
  const sleepMs = Math.max(3_000, Math.ceil(settleSeconds * 1.25 * 1000) + 2_000);
  await withFreshDatabase(db, 'sleeperswake', (database) =>
    withSleeperSetup(database, async (dispatcher, worker, baseline) => {
      log(`${db}: sleepers, ${SLEEPERS} workflows all waking ${round(sleepMs / 1000, 1)}s after the first dispatch`);
      const startWall = Date.now();
      const start = process.hrtime.bigint();
      const wakeAt = startWall + sleepMs;
      const ids = await dispatchMany(dispatcher, SleepUntilFlow, Array.from({ length: SLEEPERS }, () => [wakeAt]), DISPATCH_PARALLEL[db]);
      const settled = await waitUntilSuspended(worker, SLEEPERS, wakeAt);
      const suspendedSnapshot = settled.allSuspended ? await worker.stats(true) : settled.last;
      if (settled.allSuspended) await checkSleepJournal(dispatcher, ids[ids.length - 1]!, 0);
      else log(`${db}: sleepers (wake): not all suspended when they came due: ${describe(settled.last)}`);
      await pause(Math.max(0, wakeAt - Date.now()));
      try {
        await waitForAllFinal(dispatcher, 'SleepUntilFlow', SLEEPERS, SETTLE_TIMEOUT_MS, 50);
      } catch (error) {
        throw new Error(`sleepers (wake): ${(error as Error).message}; worker: ${describe(await worker.stats())}\n${await describeUnfinished(dispatcher, 'SleepUntilFlow')}`);
      }
      const doneWall = Date.now();
      const totalSeconds = secondsSince(start);
      await verifyResults(dispatcher, 'SleepUntilFlow', () => 'awake');
      const end = await worker.stats();
      context.emit({
        case: 'sleepers',
        db,
        workers: 1,
        steps: SLEEPERS,
        seconds: (doneWall - wakeAt) / 1000,
        extra: {
          sleep: `${round(sleepMs / 1000, 1)}s`,
          measured: 'wake_to_all_completed',
          suspended: suspendedSnapshot.counters.suspendedNow,
          all_suspended_before_wake: settled.allSuspended,
          rss_growth_at_suspension_mb: mb(suspendedSnapshot.rss - baseline.rss),
          rss_peak_mb: mb(Math.max(settled.peakRss, end.rss)),
          replays: end.counters.replays,
          total_seconds: round(totalSeconds, 3),
        },
      });
    }),
  );
}

/**
 * `sleepers`: memory with 10,000 sleeping workflows (each `await Stent.sleep(...)`), measured in a forked
 * worker process so only the worker's memory is counted. Two lines: `sleep: "1h"` (seconds = dispatch
 * until all are suspended) and a short sleep that really fires (seconds = common wake-up until all done).
 */
export const sleepersCase: BenchCase = {
  name: 'sleepers',
  dbs: ALL_DBS,
  async run(context) {
    let settleSeconds = 10;
    let failure: unknown;
    try {
      settleSeconds = await suspendedForAnHour(context);
    } catch (error) {
      failure = error;
      log(`${context.db}: sleepers (1h) failed, still trying the short sleep: ${String(error)}`);
    }
    await wakeTogether(context, settleSeconds);
    if (failure) throw failure;
  },
};
