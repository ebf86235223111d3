/**
 * Which driver errors mean "the connection to the database is gone or could not be made", as opposed to
 * an error of the statement itself. Those are the ones Stent retries and reports as
 * DatabaseUnavailableError.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/**
 * SQLSTATEs of a server going away or refusing a connection for now: class 08 (connection exception),
 * operator intervention 57P01-57P03, and 53300 (too_many_connections: the server is full, which passes as
 * soon as other clients let go; a worker that gave up on it at once would stop working for good).
 */
const SERVER_GONE = /^(08...|57P0[123]|53300)$/;
const DRIVER_MESSAGES = /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection terminated due to connection timeout|the database system is (starting up|shutting down|in recovery mode)/i;

export function isConnectionError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_GONE.test(code))) return true;
  return typeof message === 'string' && DRIVER_MESSAGES.test(message);
}

/** Errors of operations the server certainly did not apply (the statement never left, or its transaction never committed). */
const notApplied = new WeakSet<object>();

export function markNotApplied(error: unknown): void {
  if (error && typeof error === 'object') notApplied.add(error);
}

export function wasNotApplied(error: unknown): boolean {
  return !!error && typeof error === 'object' && notApplied.has(error);
}
