import type { Result } from 'nestjs-stent';

/** Prints how an execution ended and its Result as JSON (an Error as its message). */
export function printOutcome(executionId: string, result: Result<unknown, unknown>): void {
  console.log(`execution ${executionId} finished: ${result.state}`);
  const error = result.error instanceof Error ? result.error.message : result.error;
  console.log(JSON.stringify({ ok: result.ok, value: result.value, error }, null, 2));
}
