/**
 * The PostgreSQL application_name of a worker process's connections (worker-main.ts sets it): a test
 * finds that one process's backends in pg_stat_activity and pg_locks, whatever schema or lock they touch.
 */
export const workerApplicationName = (pid: number): string => `stent-test-worker-${pid}`;

/** The URL with its connections named `applicationName`. */
export function withApplicationName(url: string, applicationName: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', applicationName);
  return parsed.toString();
}
