import { WaitTimeoutError, type StentExecutor } from 'nestjs-stent';

/** Polls `condition` until it returns a truthy value or the deadline passes (then throws with `what`). */
export async function waitUntil<T>(condition: () => T | Promise<T>, what: string, timeoutMs = 30_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `promise`'s outcome, or an error naming `what` once `timeoutMs` of real time passed without one. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} (nothing after ${timeoutMs} ms)`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The final state an execution reaches within `timeout`, or 'still <state>' if it does not get there
 * (so a test that expects 'completed' shows where a hung execution stopped instead of a timeout error).
 */
export async function finalStateOf(executor: StentExecutor, id: string, timeout = '15s'): Promise<string> {
  try {
    return (await executor.waitFor(id, { timeout })).state ?? 'no state';
  } catch (error) {
    if (error instanceof WaitTimeoutError) return `still ${(await executor.getExecution(id)).state}`;
    throw error;
  }
}
