/** The types the executor's methods take and return, exported beside StentExecutor. */
export type { ExecutionList, ListWorkersOptions, StatsOptions, StentExecutorOptions } from './executor-options.js';
export type { CleanupOptions, CleanupReport } from './cleanup.js';
export type { DeadLetterInfo, ExecutionInfo, JournalEntry, StentStats } from './execution-views.js';
export type { Readiness, ReadinessDetail } from './readiness.js';
export type { WaitForOptions } from './wait-for.js';
export type { ForkOptions } from './history-ops.js';
export type { PausedInfo, PauseOutcome } from './pause-operations.js';
export type { GetEventOptions, ReadStreamOptions, StreamChunk } from './published-values.js';
export type { ExecutionListFilter, ExecutionListPage, TimeInput } from './operations/execution-query.js';
export { EXECUTION_STATES } from './operations/execution-query.js';
export type { ExecutionDetail, ExecutionSummary } from './operations/execution-detail.js';
export type { BulkReplayOutcome, DeadLetterDetail, DeadLetterQuery } from './operations/dead-letter-ops.js';
export { MAX_BULK_REPLAY } from './operations/dead-letter-ops.js';
export type { WorkerStatus, WorkerView } from './operations/workers-view.js';
export type { QueueLoad, Throughput, ThroughputMinute } from './operations/load-view.js';
export type { ActivityDefinitionView, DefinitionsView, WorkflowDefinitionView } from './operations/definitions-view.js';
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './operations/page-limits.js';
