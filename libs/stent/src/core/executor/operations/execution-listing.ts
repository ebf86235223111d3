import type { StentStore } from '../../store/index.js';
import { executionInfo } from '../execution-views.js';
import type { ExecutionList } from '../executor-options.js';
import { encodeCursor, executionFilter, executionPage, type ExecutionListFilter, type ExecutionListPage } from './execution-query.js';

/**
 * One page of executions matching `filter`, newest first, by offset or after a cursor; the next page's
 * cursor comes from the last row shown, and one row more than asked tells whether there is a next page.
 */
export async function listExecutionPage(store: Pick<StentStore, 'listExecutions'>, filter: ExecutionListFilter, page: ExecutionListPage): Promise<ExecutionList> {
  const storeFilter = executionFilter(filter);
  const storePage = executionPage(page);
  const { items, total } = await store.listExecutions(storeFilter, { ...storePage, limit: storePage.limit + 1 });
  const more = items.length > storePage.limit;
  const shown = more ? items.slice(0, storePage.limit) : items;
  const last = shown[shown.length - 1];
  return {
    items: shown.map(executionInfo),
    total,
    limit: storePage.limit,
    offset: storePage.offset ?? 0,
    nextCursor: more && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
}
