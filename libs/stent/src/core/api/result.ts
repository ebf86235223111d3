import { ResultUnwrapError } from '../errors/index.js';

/** Final state of an execution as reported by waitFor/getExecution. */
export type ExecutionState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'timed_out';
export const FINAL_STATES: readonly ExecutionState[] = ['completed', 'failed', 'cancelled', 'timed_out'];
export function isFinalState(state: string): boolean {
  return (FINAL_STATES as readonly string[]).includes(state);
}

/**
 * Success or failure as a value. Workflows return it to report an expected failure
 * without failing the execution (the saga pattern), and waitFor hands one back.
 */
export class Result<T, E = unknown> {
  private constructor(
    readonly ok: boolean,
    readonly value: T | undefined,
    readonly error: E | undefined,
    /** Final state of the execution when this Result came from waitFor. */
    readonly state?: ExecutionState,
  ) {}

  static ok<T>(value: T): Result<T, never> {
    return new Result<T, never>(true, value, undefined);
  }

  static error<E>(error: E): Result<never, E> {
    return new Result<never, E>(false, undefined, error);
  }

  static isResult(value: unknown): value is Result<unknown, unknown> {
    return value instanceof Result;
  }

  /** @internal */
  static withState<T, E>(result: Result<T, E>, state: ExecutionState): Result<T, E> {
    return new Result<T, E>(result.ok, result.value, result.error, state);
  }

  unwrap(): T {
    if (this.ok) return this.value as T;
    if (this.error instanceof Error) throw this.error;
    throw new ResultUnwrapError(this.error);
  }

  unwrapOr<D>(fallback: D): T | D {
    return this.ok ? (this.value as T) : fallback;
  }

  map<U>(fn: (value: T) => U): Result<U, E> {
    return this.ok ? new Result<U, E>(true, fn(this.value as T), undefined, this.state) : (this as unknown as Result<U, E>);
  }

  flatMap<U, F>(fn: (value: T) => Result<U, F>): Result<U, E | F> {
    return this.ok ? fn(this.value as T) : (this as unknown as Result<U, E | F>);
  }

  toJSON(): { ok: boolean; value?: T; error?: E; state?: ExecutionState } {
    return this.ok ? { ok: true, value: this.value, state: this.state } : { ok: false, error: this.error, state: this.state };
  }
}
