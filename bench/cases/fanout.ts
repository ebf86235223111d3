import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { StentExecutor, WorkflowRef } from 'nestjs-stent';
import { withFreshDatabase } from '../database.js';
import { closeQuietly, openExecutor } from '../engine.js';
import { SELECTABLE_DBS } from '../options.js';
import { log, mb, secondsSince } from '../report.js';
import { benchProbe, FanoutFlow, FanoutMapFlow } from '../workflows.js';
import type { BenchCase, CaseContext } from './bench-case.js';

/**
 * DESIGN §8 names 2000 activities, the targets 1000; 10,000 and 20,000 show whether the cost per
 * step and the memory stay flat as a fan-out grows. Told apart by `steps` (and `via` for Stent.map).
 */
const RUNS: Array<{ size: number; workflow: WorkflowRef<unknown>; via: 'Promise.all' | 'Stent.map' }> = [
  { size: 1000, workflow: FanoutFlow, via: 'Promise.all' },
  { size: 2000, workflow: FanoutFlow, via: 'Promise.all' },
  { size: 10_000, workflow: FanoutFlow, via: 'Promise.all' },
  { size: 20_000, workflow: FanoutFlow, via: 'Promise.all' },
  { size: 20_000, workflow: FanoutMapFlow, via: 'Stent.map' },
];
const CONCURRENCY = 100;
/** How often the resident size is sampled while a fan-out runs (its peak is reported). */
const SAMPLE_MS = 20;

// A full collection on demand, so that the baselines below are live memory, not garbage left by what ran before.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * The heap's young generation (new space: V8's nursery, up to its semi-space size whatever the fan-out's
 * size) and its old generation (old space and large objects: what survived two scavenges), in use now.
 */
function generations(): { young: number; old: number } {
  let young = 0;
  let old = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') young += space.space_used_size;
    else if (space.space_name === 'old_space' || space.space_name === 'large_object_space') old += space.space_used_size;
  }
  return { young, old };
}

/**
 * The floor a fan-out's own code sets: the live heap that `size` pending calls awaited by one Promise.all
 * hold in plain JavaScript, with no engine: a pending promise per call (with the function that settles it) and
 * Promise.all's slot and reaction for each.
 */
async function plainPromisesHeap(size: number): Promise<number> {
  collect();
  const before = process.memoryUsage().heapUsed;
  const resolvers: Array<() => void> = [];
  const call = (i: number): Promise<number> => new Promise<number>((resolve) => resolvers.push(() => resolve(i)));
  const all = Promise.all(Array.from({ length: size }, (_, i) => call(i)));
  collect();
  const held = process.memoryUsage().heapUsed - before;
  for (const resolve of resolvers) resolve();
  await all;
  return held;
}

/**
 * The live heap (over the live heap before the dispatch) of a fan-out of `size` with every call in flight:
 * measured by a full collection as its first activity starts, by then every call is made and waits. A run of
 * its own, so that the collection does not lower the peak the measured run reports.
 */
async function liveInFlight(executor: StentExecutor, workflow: WorkflowRef<unknown>, size: number): Promise<number> {
  collect();
  const before = process.memoryUsage().heapUsed;
  let live = 0;
  benchProbe.activityStarted = () => {
    benchProbe.activityStarted = undefined;
    collect();
    live = process.memoryUsage().heapUsed - before;
  };
  try {
    const outcome = await executor.waitFor(await executor.dispatch(workflow as WorkflowRef<FanoutFlow>, [size]), { timeout: '300s' });
    if (!outcome.ok) throw new Error(`fanout live-heap run failed: ${String(outcome.error)}`);
  } finally {
    benchProbe.activityStarted = undefined;
  }
  return live;
}

/** Calls of the untimed fan-out run first in each fresh process (bench/dbos warms DBOS with as many). */
const WARM_UP_CALLS = 1000;

async function fanout(context: CaseContext, size: number, workflow: WorkflowRef<unknown>, via: string): Promise<void> {
  await withFreshDatabase(context.db, `fanout${size}`, async (database) => {
    const executor = await openExecutor(database.options, { concurrency: CONCURRENCY });
    try {
      const warm = await executor.waitFor(await executor.dispatch(workflow as WorkflowRef<FanoutFlow>, [WARM_UP_CALLS]), { timeout: '120s' });
      if (!warm.ok) throw new Error(`fanout warm-up failed: ${String(warm.error)}`);

      log(`${context.db}: fanout, 1 workflow x ${size} activities through ${via} (worker concurrency ${CONCURRENCY})`);
      const floor = via === 'Promise.all' ? await plainPromisesHeap(size) : undefined;
      const live = await liveInFlight(executor, workflow, size);
      // The counters (CPU, statements, commits) cover the measured run alone: not the runs before it, nor
      // the full collections this case forces around it to read live memory.
      collect();
      await context.startWindow();
      const { rss: baseline, heapUsed: heapBaseline } = process.memoryUsage();
      const oldBaseline = generations().old;
      let peak = baseline;
      let heapPeak = heapBaseline;
      let oldPeak = oldBaseline;
      let youngAtPeak = 0;
      const sample = () => {
        const usage = process.memoryUsage();
        const { young, old } = generations();
        peak = Math.max(peak, usage.rss);
        if (usage.heapUsed > heapPeak) {
          heapPeak = usage.heapUsed;
          youngAtPeak = young;
        }
        oldPeak = Math.max(oldPeak, old);
      };
      const sampler = setInterval(sample, SAMPLE_MS);
      const start = process.hrtime.bigint();
      const id = await executor.dispatch(workflow as WorkflowRef<FanoutFlow>, [size]);
      const outcome = await executor.waitFor<number>(id, { timeout: '300s' }).finally(() => clearInterval(sampler));
      const seconds = secondsSince(start);
      await context.endWindow();
      sample();
      collect();
      const retained = process.memoryUsage().heapUsed - heapBaseline;
      const expected = (size * (size + 1)) / 2;
      if (!outcome.ok || outcome.value !== expected) {
        throw new Error(`fanout workflow ${id} ended ${outcome.state} with ${JSON.stringify(outcome.ok ? outcome.value : String(outcome.error))}, expected ${expected}`);
      }
      context.emit({ case: 'fanout', db: context.db, workers: 1, steps: size, seconds, extra: { via, concurrency: CONCURRENCY, rss_peak_growth_mb: mb(peak - baseline), heap_peak_growth_mb: mb(heapPeak - heapBaseline), young_at_heap_peak_mb: mb(youngAtPeak), old_peak_growth_mb: mb(oldPeak - oldBaseline), live_heap_in_flight_mb: mb(live), live_bytes_per_call: Math.round(live / size), heap_retained_mb: mb(retained), ...(floor === undefined ? {} : { plain_promises_heap_mb: mb(floor) }) } });
    } finally {
      await closeQuietly(executor);
    }
  });
}

/**
 * `fanout`: one workflow starting N activities at once, dispatch to completion, and the peak growth of the
 * resident size and of the JS heap (used, garbage included) over the live memory before the dispatch, split
 * into the young generation at the heap's peak and the old generation's own peak growth, the live heap with
 * every call in flight (from a run of its own, and per call) and the heap still held once the run ended; for
 * Promise.all, what N pending promises hold in plain JavaScript (the workflow's own share of that growth).
 */
export const fanoutCase: BenchCase = {
  name: 'fanout',
  dbs: SELECTABLE_DBS,
  async run(context) {
    // STENT_BENCH_FANOUT_SIZES=1000 (a comma list) narrows the sizes, to profile or trace one of them.
    const only = process.env.STENT_BENCH_FANOUT_SIZES?.split(',').map(Number);
    for (const { size, workflow, via } of RUNS.filter((run) => !only || only.includes(run.size))) await fanout(context, size, workflow, via);
  },
};
