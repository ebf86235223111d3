import type { ExecutionState } from '../../api/result.js';
import { InvalidFilterError, StentError } from '../../errors/index.js';
import type { DeadLetterDetailRecord, DeadLetterFilter, Page } from '../../store/index.js';
import { deadLetterInfo, type DeadLetterInfo } from '../execution-views.js';
import { checkKeys, checkLimit, checkOffset, checkText } from './page-limits.js';

/** One dead letter with the execution it belongs to (null fields once that execution is gone). */
export type DeadLetterDetail = DeadLetterInfo & { workflowName: string | null; executionState: ExecutionState | null };

/** listDeadLetters' page and filter. */
export interface DeadLetterQuery extends Page, DeadLetterFilter {}

/** What a bulk replay did with each id: replayed (with its execution), or why not (the error, with its code). */
export interface BulkReplayOutcome {
  replayed: Array<{ id: string; executionId: string }>;
  failed: Array<{ id: string; error: Error }>;
}

/** Most ids one bulk replay takes (replay-all walks the list in pages of this size). */
export const MAX_BULK_REPLAY = 1000;

export function deadLetterDetail(record: DeadLetterDetailRecord): DeadLetterDetail {
  const { workflowName, executionState, ...letter } = record;
  return { ...deadLetterInfo(letter), workflowName, executionState };
}

export function deadLetterQuery(input: DeadLetterQuery | undefined): { filter: DeadLetterFilter; page: Required<Page> } {
  const given = checkKeys('dead-letter query', input, ['limit', 'offset', 'executionId', 'name']);
  const filter: DeadLetterFilter = {};
  if (given.executionId !== undefined) filter.executionId = checkText('executionId', given.executionId, 128);
  if (given.name !== undefined) filter.name = checkText('name', given.name);
  return { filter, page: { limit: checkLimit(given.limit), offset: checkOffset(given.offset) } };
}

export function checkReplayIds(ids: unknown): string[] {
  if (!Array.isArray(ids) || ids.length === 0) throw new InvalidFilterError('ids', 'must be a non-empty array of dead-letter ids');
  if (ids.length > MAX_BULK_REPLAY) throw new InvalidFilterError('ids', `at most ${MAX_BULK_REPLAY} ids at once`);
  return [...new Set(ids.map((id) => checkText('ids', id, 64)))];
}

/**
 * Replays each id in turn; one that cannot be replayed (gone, its execution no longer failed, as when an
 * earlier letter of the same execution revived it) is reported and the others go on. A failure that is
 * not one of Stent's own (the database) stops the batch.
 */
export async function replayEach(ids: string[], replay: (id: string) => Promise<{ executionId: string }>): Promise<BulkReplayOutcome> {
  const outcome: BulkReplayOutcome = { replayed: [], failed: [] };
  for (const id of ids) {
    try {
      outcome.replayed.push({ id, executionId: (await replay(id)).executionId });
    } catch (error) {
      if (!(error instanceof StentError)) throw error;
      outcome.failed.push({ id, error });
    }
  }
  return outcome;
}
