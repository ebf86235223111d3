import { ResultUnwrapError } from '../errors/index.js';

/** Final state of an execution as reported by waitFor/getExecution. */
export type ExecutionState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'timed_out';
export const FINAL_STATES: readonly ExecutionState[] = ['completed', 'failed', 'cancelled', 'timed_out'];
export function isFinalState(state: string): boolean {
  return (FINAL_STATES as readonly string[]).includes(state);
}

/** What every Result can do, whichever way it went. */
interface ResultMethods<T, E> {
  /** Final state of the execution when this Result came from waitFor or getExecution. */
  readonly state?: ExecutionState;
  /** The value; throws the error (an Error as it is, anything else wrapped in ResultUnwrapError). */
  unwrap(): T;
  unwrapOr<D>(fallback: D): T | D;
  map<U>(fn: (value: T) => U): Result<U, E>;
  flatMap<U, F>(fn: (value: T) => Result<U, F>): Result<U, E | F>;
  toJSON(): { ok: boolean; value?: T; error?: E; state?: ExecutionState };
}

/** A success: `ok` is true and `value` is the value. */
export interface Ok<T, E = never> extends ResultMethods<T, E> {
  readonly ok: true;
  readonly value: T;
  readonly error?: undefined;
}

/** A failure: `ok` is false and `error` is the error. */
export interface Err<E, T = never> extends ResultMethods<T, E> {
  readonly ok: false;
  readonly value?: undefined;
  readonly error: E;
}

/**
 * Success or failure as a value, discriminated by `ok`: after `if (result.ok)` the value is a `T`, after
 * `if (!result.ok)` the error an `E`. Workflows return one to report an expected failure without failing
 * the execution (the saga pattern), and waitFor hands one back.
 */
export type Result<T, E = unknown> = Ok<T, E> | Err<E, T>;

class ResultValue<T, E> implements ResultMethods<T, E> {
  constructor(
    readonly ok: boolean,
    readonly value: T | undefined,
    readonly error: E | undefined,
    readonly state?: ExecutionState,
  ) {}

  unwrap(): T {
    if (this.ok) return this.value as T;
    if (this.error instanceof Error) throw this.error;
    throw new ResultUnwrapError(this.error);
  }

  unwrapOr<D>(fallback: D): T | D {
    return this.ok ? (this.value as T) : fallback;
  }

  map<U>(fn: (value: T) => U): Result<U, E> {
    return (this.ok ? new ResultValue<U, E>(true, fn(this.value as T), undefined, this.state) : this) as unknown as Result<U, E>;
  }

  flatMap<U, F>(fn: (value: T) => Result<U, F>): Result<U, E | F> {
    return this.ok ? fn(this.value as T) : (this as unknown as Result<U, E | F>);
  }

  toJSON(): { ok: boolean; value?: T; error?: E; state?: ExecutionState } {
    return this.ok ? { ok: true, value: this.value, state: this.state } : { ok: false, error: this.error, state: this.state };
  }
}

/** Builds Results (`Result.ok`, `Result.error`) and tells them apart (`Result.isResult`, `instanceof Result`). */
export const Result = {
  ok<T>(value: T): Result<T, never> {
    return new ResultValue<T, never>(true, value, undefined) as unknown as Result<T, never>;
  },

  error<E>(error: E): Result<never, E> {
    return new ResultValue<never, E>(false, undefined, error) as unknown as Result<never, E>;
  },

  isResult(value: unknown): value is Result<unknown, unknown> {
    return value instanceof ResultValue;
  },

  /** @internal The same Result, with the final state of the execution it came from. */
  withState<T, E>(result: Result<T, E>, state: ExecutionState): Result<T, E> {
    return new ResultValue<T, E>(result.ok, result.value, result.error, state) as unknown as Result<T, E>;
  },

  [Symbol.hasInstance](value: unknown): value is Result<unknown, unknown> {
    return value instanceof ResultValue;
  },
};
