import type { StentExecutor } from 'nestjs-stent';

/**
 * Calls `onChange` whenever the progress a workflow reports with Stent.setProgress changes, as seen
 * through executor.getExecution (polled, the way any other process, a dashboard or an admin API, sees
 * it). Returns a function that stops watching: it waits for a call in progress, reports the latest
 * progress if the polling missed it, and rethrows what made the watching stop early, if anything did.
 */
export function watchProgress<P>(executor: StentExecutor, executionId: string, onChange: (progress: P) => void | Promise<void>, intervalMs = 100): () => Promise<void> {
  let stopped = false;
  let last = '';
  const check = async (): Promise<void> => {
    const { progress } = await executor.getExecution(executionId);
    const seen = JSON.stringify(progress ?? null);
    if (progress == null || seen === last) return;
    last = seen;
    await onChange(progress as P);
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
