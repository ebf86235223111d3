import type { ExecutionInfo, StentExecutor } from 'nestjs-stent';

/**
 * Calls `onChange` whenever the progress or the counters a workflow reports (Stent.setProgress,
 * Stent.incrementCounter) change, as seen through executor.getExecution: polled, the way any other
 * process (a dashboard, an admin API) sees them. Returns a function that stops watching: it waits for
 * a call in progress, reports the latest change if the polling missed it, and rethrows what made the
 * watching stop early, if anything did.
 */
export function watchExecution(executor: StentExecutor, executionId: string, onChange: (execution: ExecutionInfo) => void | Promise<void>, intervalMs = 100): () => Promise<void> {
  let stopped = false;
  let last = JSON.stringify([null, {}]);
  const check = async (): Promise<void> => {
    const execution = await executor.getExecution(executionId);
    const seen = JSON.stringify([execution.progress ?? null, execution.counters]);
    if (seen === last) return;
    last = seen;
    await onChange(execution);
  };
  const loop = (async () => {
    while (!stopped) {
      await check();
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  // Kept from becoming an unhandled rejection before the caller stops watching; stop() rethrows it.
  loop.catch(() => undefined);
  return async () => {
    stopped = true;
    await loop;
    await check();
  };
}
