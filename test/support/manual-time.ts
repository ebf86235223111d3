import type { ManualClock, StentEventMap, StentExecutor, WorkerOptions } from 'nestjs-stent';

/**
 * A worker for a manual clock. A jump of the clock is a pause of every process: a lease shorter than a jump
 * taken while a run is held would expire under the worker holding it (the fault tests cover that), so
 * leases here outlast the jumps. A waiting workflow is suspended at once, so each jump finds it in the
 * database, where the next poll (a timer on the same clock, fired by the jump) finds it due.
 */
export const MANUAL_WORKER: WorkerOptions = { concurrency: 4, pollInterval: '100ms', maxPollInterval: '1s', lease: '1d', suspendAfter: 0 };

/**
 * Real time to give the worker after each step (nudgeUntil's `settleMs`) in a phase whose end a test
 * bounds on the clock: with the default 10 ms, a bound 60 steps away leaves a loaded machine 0.6 s of real
 * time to claim and run before the clock passes it; with this, 6 s.
 */
export const SETTLE_BEFORE_BOUND_MS = 100;

/**
 * Waits for `condition` while time passes on `clock` in steps of `stepMs` (a worker's longest poll
 * interval): a jump of the clock can land while the worker is in the middle of a claim round, and the
 * round's next poll is then armed from the new time, a step away. Before each step the worker gets up to
 * `settleMs` of real time to act on the last one: a test that bounds how late on the clock something
 * happens gives it enough that a loaded machine cannot carry the clock past the bound meanwhile.
 */
export async function nudgeUntil<T>(
  clock: ManualClock,
  condition: () => T | Promise<T>,
  what: string,
  stepMs = 1_000,
  realTimeoutMs = 30_000,
  settleMs = 10,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + realTimeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out after ${realTimeoutMs} ms of real time waiting for ${what} (clock at ${new Date(clock.now()).toISOString()})`);
    const settled = Date.now() + settleMs;
    let met: T | undefined;
    do {
      await new Promise((resolve) => setTimeout(resolve, 10));
      met = await condition();
    } while (!met && Date.now() < settled);
    if (met) continue;
    clock.advance(stepMs);
  }
}

/** Counts events of one execution from now on (for conditions such as "suspended twice"). */
export function countEvents(executor: StentExecutor, event: 'execution.suspended' | 'execution.finished' | 'step.failed', executionId: string): { count: number } {
  const counter = { count: 0 };
  executor.events.on(event, ((payload: StentEventMap[typeof event][0]) => {
    if (payload.executionId === executionId) counter.count++;
  }) as never);
  return counter;
}

/**
 * The results of `ids` on an executor whose clock stands still, so waitFor's own time-out and polls never
 * fire: a real deadline ends the wait with what the database and the worker hold (a final row means a
 * wake-up was missed; a running one, that the run stalled: its journal and the claims made say where).
 */
export async function resultsOnStandingClock(executor: StentExecutor, ids: string[], claimed: unknown, realTimeoutMs = 60_000) {
  let deadline: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    deadline = setTimeout(() => {
      void Promise.all(ids.map(async (id) => ({ id, execution: await executor.getExecution(id), journal: await executor.getJournal(id) }))).then(
        (states) =>
          reject(
            new Error(
              `no result within ${realTimeoutMs} ms: ${JSON.stringify(
                states.map(({ id, execution, journal }) => ({
                  id,
                  state: execution.state,
                  lease: execution.leaseOwner,
                  journal: journal.map((step) => [step.position, step.name, step.state, step.attempts]),
                })),
              )}; worker ${JSON.stringify(executor.worker?.stats())}; claimed ${JSON.stringify(claimed)}`,
            ),
          ),
        reject,
      );
    }, realTimeoutMs);
  });
  try {
    return await Promise.race([Promise.all(ids.map((id) => executor.waitFor(id))), stalled]);
  } finally {
    clearTimeout(deadline);
  }
}
