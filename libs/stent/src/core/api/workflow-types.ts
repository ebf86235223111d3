import type { Result } from './result.js';

/** A workflow class, or its durable name. */
export type WorkflowRef<W> = (abstract new (...args: any[]) => W) | string;

/** The arguments of a workflow's run(). */
export type RunArgs<W> = W extends { run: (...args: infer A) => unknown } ? A : unknown[];

/** What a workflow's run() resolves to. */
export type RunResult<W> = W extends { run: (...args: any[]) => infer R } ? Awaited<R> : unknown;

/**
 * What waitFor resolves to for a workflow whose run() returns R: the workflow's own Result (its error type
 * widened by Error: it may also have failed, been cancelled or timed out), or R as the value of a Result.
 */
export type Outcome<R> = [R] extends [Result<infer T, infer E>] ? Result<T, E | Error> : Result<R, Error>;

declare const WORKFLOW: unique symbol;

/**
 * An execution id as dispatch returns it: a string that also remembers which workflow it runs, so
 * `waitFor(id)` is typed from that workflow's run(). Anywhere a string is expected it is one.
 */
export type ExecutionId<W = unknown> = string & { readonly [WORKFLOW]?: W };
