import { withFreshDatabase } from '../database.js';
import { closeQuietly, openExecutor } from '../engine.js';
import { ALL_DBS } from '../options.js';
import { log, round, secondsSince } from '../report.js';
import { LongHistoryFlow } from '../workflows.js';
import type { BenchCase } from './bench-case.js';

const WAKES = 1000;
/** The first and last this many wakes are compared. */
const WINDOW = 250;
const SUSPEND_AFTER_MS = 5;
const WAKE_TIMEOUT_MS = 30_000;

const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

/**
 * `long_history`: one workflow that waits for a signal 1,000 times, an activity after each, suspended out of
 * memory between signals, so its journal grows by two steps a wake; it then continues as new (the last wake
 * includes that), and the continuation starts with a fresh journal. A wake is timed from sending the
 * signal until the workflow is suspended again at its next wait, less the idle time (`suspendAfter`) the
 * worker waits before suspending it. The cost of a wake should not grow with the journal: the line gives
 * the mean of the first and of the last 250 wakes and their ratio.
 */
export const longHistoryCase: BenchCase = {
  name: 'long_history',
  dbs: ALL_DBS,
  async run(context) {
    await withFreshDatabase(context.db, 'longhistory', async (database) => {
      const executor = await openExecutor(database.options, { concurrency: 10, suspendAfter: SUSPEND_AFTER_MS });
      try {
        let suspensions = 0;
        let replays = 0;
        let resumed = 0;
        const waiters: Array<() => void> = [];
        executor.events.on('execution.suspended', () => {
          suspensions++;
          waiters.shift()?.();
        });
        executor.events.on('execution.started', (event) => {
          if (event.replay) replays++;
          if ((event as { resumed?: boolean }).resumed) resumed++;
        });
        const nextSuspension = (): Promise<void> =>
          new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`long_history: not suspended again within ${WAKE_TIMEOUT_MS / 1000}s (${suspensions} suspensions so far)`)), WAKE_TIMEOUT_MS);
            waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });

        log(`${context.db}: long_history, 1 workflow x ${WAKES} signal waits, an activity after each, suspended between them`);
        const start = process.hrtime.bigint();
        let suspended = nextSuspension();
        const id = await executor.dispatch(LongHistoryFlow, [WAKES]);
        await suspended;
        const wakeMs: number[] = [];
        for (let i = 0; i < WAKES; i++) {
          suspended = nextSuspension();
          const sent = process.hrtime.bigint();
          await executor.sendSignal(id, 'next', 1);
          await suspended;
          wakeMs.push(secondsSince(sent) * 1000 - SUSPEND_AFTER_MS);
        }
        // The last wake continued as new: the continuation, with a fresh journal, waits for 'stop'.
        const continuation = (await executor.getExecution(id)).continuedAs;
        if (!continuation) throw new Error(`long_history workflow ${id} did not continue as new after ${WAKES} wakes`);
        const continuedSteps = (await executor.getJournal(continuation)).length;
        await executor.sendSignal(continuation, 'stop');
        // waitFor on the first execution follows the chain to the continuation's result.
        const outcome = await executor.waitFor<number>(id, { timeout: '60s' });
        const seconds = secondsSince(start);
        if (!outcome.ok || outcome.value !== WAKES) throw new Error(`long_history workflow ${id} ended ${outcome.state} with ${JSON.stringify(outcome.ok ? outcome.value : String(outcome.error))}, expected ${WAKES}`);
        const journal = await executor.getJournal(id);
        const first = mean(wakeMs.slice(0, WINDOW));
        const last = mean(wakeMs.slice(-WINDOW));
        context.emit({
          case: 'long_history',
          db: context.db,
          workers: 1,
          steps: journal.length,
          seconds,
          extra: {
            wakes: WAKES,
            first_250_wake_ms: round(first, 2),
            last_250_wake_ms: round(last, 2),
            last_vs_first: round(last / first, 2),
            replays,
            resumed_from_memory: resumed,
            continued_journal_steps: continuedSteps,
            suspend_after_ms: SUSPEND_AFTER_MS,
          },
        });
      } finally {
        await closeQuietly(executor);
      }
    });
  },
};
