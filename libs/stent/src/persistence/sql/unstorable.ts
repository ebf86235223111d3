import { UnstorableValueError } from '../../core/index.js';

/**
 * Whether the database refused a statement for a value in it rather than for the state of the database
 * or the connection: PostgreSQL's data exceptions (SQLSTATE class 22: too long, malformed, NUL in text)
 * and program limits (class 54: too large), SQLite's SQLITE_TOOBIG. Such a statement fails the same way
 * every time it is sent.
 */
export function isUnstorable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return /^(22|54)[0-9A-Z]{3}$/.test(code) || code === 'SQLITE_TOOBIG';
}

/** Runs `write`; a value the database refuses comes out as an UnstorableValueError naming `what`. */
export async function storing<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUnstorable(error)) throw new UnstorableValueError(what, (error as Error).message, { cause: error });
    throw error;
  }
}
