// The public API of nestjs-stent, by name. What is not listed here is internal (see internal.ts).

// Nest integration
export { StentModule } from './nest/stent.module.js';
export type { StentModuleOptions } from './nest/stent-module-options.js';
export { STENT_MODULE_OPTIONS } from './nest/stent.module-definition.js';
export { Workflow, Activity, InjectStentOptions } from './nest/decorators.js';
export { StentAdminModule } from './nest/admin/stent-admin.module.js';
export type { StentAdminOptions } from './nest/admin/stent-admin-options.js';
export { StentAdminExceptionFilter, STATUS_BY_CATEGORY, type AdminErrorBody } from './nest/admin/admin-exception.filter.js';
export { InvalidRequestError } from './nest/admin/invalid-request.error.js';
export { STENT_ADMIN_OPTIONS } from './nest/admin/admin.constants.js';
export { OnStentEvent } from './nest/on-stent-event.decorator.js';

// Writing workflows and activities
export { Stent } from './core/api/stent.js';
export { Result, FINAL_STATES, isFinalState, type Ok, type Err, type ExecutionState } from './core/api/result.js';
export { parseDuration, type Duration } from './core/api/duration.js';
export type { RoutingOptions, ActivityOptions, WorkflowOptions, DispatchOptions } from './core/api/options.js';
export { DEFAULT_RETRY_POLICY, type RetryOptions, type RetryPolicy } from './core/definitions/retry-policy.js';
export type { ExecutionId, Outcome, RunArgs, RunResult, WorkflowRef } from './core/api/workflow-types.js';
export type { ActivityScope } from './core/context.js';
export { registerErrorClass, type SerializedError } from './core/error-serialization.js';

// Without Nest: the same definitions as the decorators, for plain classes
export { defineActivity, defineWorkflow, setActivityMethodOptions, type AnyClass } from './core/definitions/definitions.js';

// Running and operating
export { StentExecutor } from './core/executor/executor.js';
export type { StentExecutorOptions, ExecutionList, StatsOptions, ListWorkersOptions, CleanupOptions, CleanupReport } from './core/executor/executor-types.js';
export type { RetentionOptions } from './core/api/retention-options.js';
export type { ScheduleOptions, NewScheduleOptions, ScheduleTick } from './core/api/schedule-options.js';
export { ScheduleOperations, MAX_BACKFILL, type BackfillRange, type BackfillReport } from './core/schedules/schedule-operations.js';
export type { ScheduleInfo } from './core/schedules/schedule-view.js';
export type { WaitForOptions } from './core/executor/wait-for.js';
export type { PausedInfo, PauseOutcome } from './core/executor/pause-operations.js';
export type { GetEventOptions, ReadStreamOptions, StreamChunk } from './core/executor/published-values.js';
export type { ExecutionInfo, JournalEntry, DeadLetterInfo, StentStats } from './core/executor/execution-views.js';
export type { Readiness, ReadinessDetail } from './core/executor/readiness.js';
export type { ExecutionFilter, Page } from './core/store/admin-records.js';
export type { ExecutionDetail, ExecutionSummary } from './core/executor/operations/execution-detail.js';
export type { ExecutionListFilter, ExecutionListPage, TimeInput } from './core/executor/operations/execution-query.js';
export { MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT } from './core/executor/operations/page-limits.js';
export type { DeadLetterDetail, DeadLetterQuery, BulkReplayOutcome } from './core/executor/operations/dead-letter-ops.js';
export type { WorkflowDefinitionView, ActivityDefinitionView, DefinitionsView } from './core/executor/operations/definitions-view.js';
export type { QueueLoad, Throughput, ThroughputMinute } from './core/executor/operations/load-view.js';
export type { WorkerView, WorkerStatus } from './core/executor/operations/workers-view.js';
export type { UnservedWork } from './core/executor/operations/unserved-work.js';
export { toJsonView, type JsonValue } from './core/json-view.js';
export type { StentStore } from './core/store/index.js';
export type { WorkerOptions, WorkerState } from './core/worker/worker.js';
export type { StentLogger, StentLogContext } from './core/logger.js';
export { STENT_EVENT_NAMES, type StentEventMap, type StentEventName } from './core/events.js';
export { systemClock, type Clock, type Timer } from './core/clock/clock.js';
export type { StentTelemetry, DispatchTrace, SignalTrace } from './core/telemetry.js';
export { openTelemetry, STENT_ATTRIBUTES, type OpenTelemetryOptions } from './telemetry/index.js';
export { ManualClock } from './core/clock/manual-clock.js';
export { aesGcmCodec, type AesGcmCodecOptions } from './core/codec/aes-gcm-codec.js';
export { EncodedPayload, type StentCodec } from './core/codec/payload-codec.js';

// Errors (each with a stable `code`)
export * from './core/errors/index.js';

// Persistence: the database, entities and migrations for apps that run migrations themselves
export { createStentStore, openStentStore, databaseFromUrl, type StentDatabaseOptions, type StentStoreOptions } from './persistence/create-store.js';
export { stentMigrations, stentMigrationClasses, runStentMigrations } from './persistence/schema/migrator.js';
export {
  stentEntities,
  StentExecutionEntity,
  StentStepEntity,
  StentDeadLetterEntity,
  StentWorkerEntity,
  StentSignalEntity,
  StentCacheEntity,
  StentMaintenanceEntity,
  StentScheduleEntity,
  StentPauseEntity,
  StentDebounceEntity,
  StentSingletonEntity,
  StentSingletonWaiterEntity,
  StentEventEntity,
  StentStreamEntryEntity,
  StentFlowKeyEntity,
} from './persistence/schema/entities.js';
export { StentInitialSchema1732500000000 } from './persistence/schema/migrations/1732500000000-stent-initial-schema.js';
export { StentDeliveryOrder1733000000000 } from './persistence/schema/migrations/1733000000000-stent-delivery-order.js';
export { StentAdminViews1734000000000 } from './persistence/schema/migrations/1734000000000-stent-admin-views.js';
export { StentMaintenance1735000000000 } from './persistence/schema/migrations/1735000000000-stent-maintenance.js';
export { StentClaimOrder1736000000000 } from './persistence/schema/migrations/1736000000000-stent-claim-order.js';
export { StentSchedules1737000000000 } from './persistence/schema/migrations/1737000000000-stent-schedules.js';
export { StentPauses1737100000000 } from './persistence/schema/migrations/1737100000000-stent-pauses.js';
export { StentDispatchKeys1737200000000 } from './persistence/schema/migrations/1737200000000-stent-dispatch-keys.js';
export { StentHistory1738000000000 } from './persistence/schema/migrations/1738000000000-stent-history.js';
export { StentFlowLimits1739000000000 } from './persistence/schema/migrations/1739000000000-stent-flow-limits.js';
export { StentEventsStreams1740000000000 } from './persistence/schema/migrations/1740000000000-stent-events-streams.js';
