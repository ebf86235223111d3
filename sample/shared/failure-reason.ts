import { ActivityFailedError } from 'nestjs-stent';

/** Why a durable call failed: for an activity that failed for good, the message of its last error. */
export function failureReason(error: unknown): string {
  const cause = error instanceof ActivityFailedError ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
