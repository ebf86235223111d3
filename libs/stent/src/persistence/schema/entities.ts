import { Column, Entity, Index, PrimaryColumn, type ValueTransformer } from 'typeorm';

/** Times are epoch milliseconds in BIGINT columns; PostgreSQL drivers hand BIGINT back as a string. */
const asNumber: ValueTransformer = {
  to: (value: unknown) => value,
  from: (value: unknown) => (value === null || value === undefined ? value : Number(value)),
};

/**
 * TypeORM entities of Stent's tables, for applications that want to read them through repositories.
 * The schema itself comes from Stent's migrations (never synchronize).
 */
@Entity({ name: 'stent_executions' })
// Claims read due executions of a queue in priority order (the migration makes priority descending).
@Index('stent_executions_claim_order', ['queue', 'priority', 'wakeAt'], { where: "lease_owner IS NULL AND wake_at IS NOT NULL AND state IN ('pending', 'running')" })
export class StentExecutionEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 }) id!: string;
  @Column({ name: 'workflow_name', type: 'varchar', length: 255 }) workflowName!: string;
  @Index() @Column({ type: 'varchar', length: 16 }) state!: string;
  @Column({ type: 'text' }) args!: string;
  @Column({ type: 'text', nullable: true }) result!: string | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ type: 'varchar', length: 128, default: 'default' }) queue!: string;
  @Column({ type: 'integer', default: 0 }) priority!: number;
  @Column({ type: 'text', default: '[]' }) tags!: string;
  @Column({ name: 'parent_id', type: 'varchar', length: 128, nullable: true }) parentId!: string | null;
  @Column({ name: 'parent_position', type: 'integer', nullable: true }) parentPosition!: number | null;
  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true, unique: true }) idempotencyKey!: string | null;
  @Column({ name: 'created_at', type: 'bigint', transformer: asNumber }) createdAt!: number;
  @Column({ name: 'updated_at', type: 'bigint', transformer: asNumber }) updatedAt!: number;
  @Column({ name: 'started_at', type: 'bigint', transformer: asNumber, nullable: true }) startedAt!: number | null;
  @Column({ name: 'finished_at', type: 'bigint', transformer: asNumber, nullable: true }) finishedAt!: number | null;
  @Column({ name: 'deadline_at', type: 'bigint', transformer: asNumber, nullable: true }) deadlineAt!: number | null;
  @Column({ name: 'max_duration_ms', type: 'bigint', transformer: asNumber, nullable: true }) maxDurationMs!: number | null;
  @Column({ name: 'wake_at', type: 'bigint', transformer: asNumber, nullable: true }) wakeAt!: number | null;
  @Column({ name: 'lease_owner', type: 'varchar', length: 255, nullable: true }) leaseOwner!: string | null;
  @Column({ name: 'lease_epoch', type: 'integer', default: 0 }) leaseEpoch!: number;
  @Column({ name: 'lease_expires_at', type: 'bigint', transformer: asNumber, nullable: true }) leaseExpiresAt!: number | null;
  @Column({ type: 'integer', default: 0 }) recoveries!: number;
  @Column({ type: 'text', nullable: true }) progress!: string | null;
  @Column({ type: 'text', nullable: true }) counters!: string | null;
  @Column({ name: 'custom_state', type: 'text', nullable: true }) customState!: string | null;
  @Column({ name: 'trace_context', type: 'text', nullable: true }) traceContext!: string | null;
  /** Set when a failed execution is revived: the position of the step it retries. */
  @Column({ name: 'revive_position', type: 'integer', nullable: true }) revivePosition!: number | null;
  /** The workflow version that started it (null: not started yet, or started before versions were recorded). */
  @Column({ name: 'workflow_version', type: 'integer', nullable: true }) workflowVersion!: number | null;
  /** The execution whose Stent.continueAsNew started this one. */
  @Column({ name: 'continued_from', type: 'varchar', length: 128, nullable: true }) continuedFrom!: string | null;
  /** The execution this one continued as (it ended with Stent.continueAsNew). */
  @Column({ name: 'continued_as', type: 'varchar', length: 128, nullable: true }) continuedAs!: string | null;
  /** The execution whose journal this one reused up to `forkedAt` (a fork, or a rewind of itself). */
  @Column({ name: 'forked_from', type: 'varchar', length: 128, nullable: true }) forkedFrom!: string | null;
  @Column({ name: 'forked_at', type: 'integer', nullable: true }) forkedAt!: number | null;
  /** Its key under the workflow's per-key concurrency (`concurrency.key(args)` at dispatch). */
  @Column({ name: 'concurrency_key', type: 'varchar', length: 255, nullable: true }) concurrencyKey!: string | null;
  /** Its key under the workflow's start rate limit ('' for a workflow-wide window). */
  @Column({ name: 'rate_key', type: 'varchar', length: 255, nullable: true }) rateKey!: string | null;
}

@Entity({ name: 'stent_steps' })
@Index(['executionId', 'position'], { unique: true })
// Claims read pending activity steps of a queue in priority order (the migration makes priority descending);
// steps with a flow key are claimed by activity and key instead.
@Index('stent_steps_claim_order', ['queue', 'priority', 'availableAt'], { where: "state = 'pending' AND kind = 'activity' AND concurrency_key IS NULL AND rate_key IS NULL" })
export class StentStepEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Column({ name: 'execution_id', type: 'varchar', length: 128 }) executionId!: string;
  @Column({ type: 'integer' }) position!: number;
  @Column({ type: 'varchar', length: 16 }) kind!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'text', nullable: true }) args!: string | null;
  @Column({ type: 'varchar', length: 16 }) state!: string;
  @Column({ type: 'text', nullable: true }) result!: string | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ type: 'integer', default: 0 }) attempts!: number;
  @Column({ name: 'retry_policy', type: 'text', nullable: true }) retryPolicy!: string | null;
  @Column({ name: 'timeout_ms', type: 'integer', nullable: true }) timeoutMs!: number | null;
  @Column({ type: 'varchar', length: 128, default: 'default' }) queue!: string;
  @Column({ type: 'integer', default: 0 }) priority!: number;
  @Column({ type: 'text', default: '[]' }) tags!: string;
  @Column({ name: 'max_concurrent', type: 'integer', nullable: true }) maxConcurrent!: number | null;
  @Column({ name: 'available_at', type: 'bigint', transformer: asNumber }) availableAt!: number;
  @Column({ name: 'fire_at', type: 'bigint', transformer: asNumber, nullable: true }) fireAt!: number | null;
  @Column({ name: 'lease_owner', type: 'varchar', length: 255, nullable: true }) leaseOwner!: string | null;
  @Column({ name: 'lease_epoch', type: 'integer', default: 0 }) leaseEpoch!: number;
  @Column({ name: 'lease_expires_at', type: 'bigint', transformer: asNumber, nullable: true }) leaseExpiresAt!: number | null;
  @Column({ type: 'integer', default: 0 }) recoveries!: number;
  @Column({ name: 'created_at', type: 'bigint', transformer: asNumber }) createdAt!: number;
  @Column({ name: 'started_at', type: 'bigint', transformer: asNumber, nullable: true }) startedAt!: number | null;
  @Column({ name: 'finished_at', type: 'bigint', transformer: asNumber, nullable: true }) finishedAt!: number | null;
  @Column({ name: 'child_execution_id', type: 'varchar', length: 128, nullable: true }) childExecutionId!: string | null;
  /** The workflow's turn when it made this call; its results are handed back in turns (see delivered*). */
  @Column({ name: 'call_turn', type: 'integer', default: 0 }) callTurn!: number;
  @Column({ name: 'delivered_turn', type: 'integer', nullable: true }) deliveredTurn!: number | null;
  @Column({ name: 'delivered_seq', type: 'integer', nullable: true }) deliveredSeq!: number | null;
  /** 1 for a step a revived execution recorded after it saw the failure it retries: reused only if repeated. */
  @Column({ type: 'integer', default: 0 }) tentative!: number;
  /** The activity's concurrency key for this call (`concurrency.key(...args)`): a claim counts running steps per key. */
  @Column({ name: 'concurrency_key', type: 'varchar', length: 255, nullable: true }) concurrencyKey!: string | null;
  /** The activity's rate-limit key for this call ('' for an activity-wide window). */
  @Column({ name: 'rate_key', type: 'varchar', length: 255, nullable: true }) rateKey!: string | null;
}

@Entity({ name: 'stent_dead_letters' })
export class StentDeadLetterEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Column({ name: 'step_id', type: 'varchar', length: 64, nullable: true }) stepId!: string | null;
  @Column({ name: 'execution_id', type: 'varchar', length: 128 }) executionId!: string;
  @Column({ type: 'varchar', length: 16 }) kind!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'text', nullable: true }) args!: string | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ type: 'integer', default: 0 }) attempts!: number;
  @Column({ type: 'varchar', length: 255 }) reason!: string;
  @Column({ name: 'created_at', type: 'bigint', transformer: asNumber }) createdAt!: number;
}

@Entity({ name: 'stent_workers' })
export class StentWorkerEntity {
  @PrimaryColumn({ type: 'varchar', length: 255 }) id!: string;
  @Column({ type: 'varchar', length: 255 }) hostname!: string;
  @Column({ type: 'integer' }) pid!: number;
  @Column({ type: 'text' }) queues!: string;
  @Column({ type: 'varchar', length: 16 }) state!: string;
  @Column({ name: 'started_at', type: 'bigint', transformer: asNumber }) startedAt!: number;
  @Index() @Column({ name: 'heartbeat_at', type: 'bigint', transformer: asNumber }) heartbeatAt!: number;
  /** JSON arrays of what it serves: tags (empty: any), workflow and activity names. */
  @Column({ type: 'text', default: '[]' }) tags!: string;
  @Column({ type: 'text', default: '[]' }) workflows!: string;
  @Column({ type: 'text', default: '[]' }) activities!: string;
  /** JSON object: each workflow's dispatch defaults (queue, priority, tags, maxDurationMs). */
  @Column({ name: 'workflow_routes', type: 'text', default: '{}' }) workflowRoutes!: string;
  @Column({ type: 'integer', nullable: true }) concurrency!: number | null;
  @Column({ name: 'lease_ms', type: 'bigint', transformer: asNumber, nullable: true }) leaseMs!: number | null;
}

/** A signal sent to an execution; consumed (once, in order) by the journal step that waited for it. */
@Entity({ name: 'stent_signals' })
export class StentSignalEntity {
  @PrimaryColumn({ type: 'bigint', transformer: asNumber }) seq!: number;
  @Column({ name: 'execution_id', type: 'varchar', length: 128 }) executionId!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'text' }) payload!: string;
  @Column({ name: 'created_at', type: 'bigint', transformer: asNumber }) createdAt!: number;
  @Column({ name: 'consumed_at', type: 'bigint', transformer: asNumber, nullable: true }) consumedAt!: number | null;
  @Column({ name: 'consumed_position', type: 'integer', nullable: true }) consumedPosition!: number | null;
}

/** A stored result of an idempotent or cached activity, reused across executions. */
@Entity({ name: 'stent_cache' })
export class StentCacheEntity {
  @PrimaryColumn({ name: 'cache_key', type: 'varchar', length: 255 }) cacheKey!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'text' }) result!: string;
  @Column({ name: 'created_at', type: 'bigint', transformer: asNumber }) createdAt!: number;
  @Column({ name: 'expires_at', type: 'bigint', transformer: asNumber, nullable: true }) expiresAt!: number | null;
}

/** A periodic maintenance job (retention): the worker that last ran it, when, and when it is due next. */
@Entity({ name: 'stent_maintenance' })
export class StentMaintenanceEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 }) name!: string;
  @Column({ type: 'varchar', length: 255, nullable: true }) owner!: string | null;
  @Column({ name: 'last_run_at', type: 'bigint', transformer: asNumber, nullable: true }) lastRunAt!: number | null;
  @Column({ name: 'next_run_at', type: 'bigint', transformer: asNumber }) nextRunAt!: number;
}

/** A schedule: a workflow started at each tick of a cron expression in a time zone, and when it fires next. */
@Entity({ name: 'stent_schedules' })
@Index('stent_schedules_due', ['nextTickAt'], { where: "state = 'active'" })
export class StentScheduleEntity {
  @PrimaryColumn({ type: 'varchar', length: 200 }) name!: string;
  @Column({ name: 'workflow_name', type: 'varchar', length: 255 }) workflowName!: string;
  @Column({ type: 'varchar', length: 255 }) cron!: string;
  @Column({ type: 'varchar', length: 64 }) timezone!: string;
  /** Encoded array: run()'s arguments after the tick. */
  @Column({ type: 'text', default: '[]' }) args!: string;
  /** 0: missed ticks are skipped; N: the latest N of them run. */
  @Column({ name: 'catch_up', type: 'integer', default: 0 }) catchUp!: number;
  @Column({ type: 'varchar', length: 8, default: 'allow' }) overlap!: string;
  @Column({ type: 'varchar', length: 16, default: 'active' }) state!: string;
  /** 'decorator' (declared in code, updated at each start) or 'api'. */
  @Column({ type: 'varchar', length: 16 }) source!: string;
  @Column({ type: 'varchar', length: 128, default: 'default' }) queue!: string;
  @Column({ type: 'integer', nullable: true }) priority!: number | null;
  @Column({ type: 'text', default: '[]' }) tags!: string;
  @Column({ name: 'max_duration_ms', type: 'bigint', transformer: asNumber, nullable: true }) maxDurationMs!: number | null;
  @Column({ name: 'next_tick_at', type: 'bigint', transformer: asNumber, nullable: true }) nextTickAt!: number | null;
  @Column({ name: 'last_tick_at', type: 'bigint', transformer: asNumber, nullable: true }) lastTickAt!: number | null;
  @Column({ name: 'last_execution_id', type: 'varchar', length: 128, nullable: true }) lastExecutionId!: string | null;
  /** The latest tick whose run retention removed: a backfill does not start it, or an earlier tick, again. */
  @Column({ name: 'removed_through', type: 'bigint', transformer: asNumber, nullable: true }) removedThrough!: number | null;
  @Column({ name: 'created_at', type: 'bigint', transformer: asNumber }) createdAt!: number;
  @Column({ name: 'updated_at', type: 'bigint', transformer: asNumber }) updatedAt!: number;
}

/** A paused queue (kind 'queue') or workflow type (kind 'workflow'): claims skip its work until it is resumed. */
@Entity({ name: 'stent_pauses' })
export class StentPauseEntity {
  @PrimaryColumn({ type: 'varchar', length: 16 }) kind!: string;
  @PrimaryColumn({ type: 'varchar', length: 255 }) name!: string;
  @Column({ name: 'paused_at', type: 'bigint', transformer: asNumber }) pausedAt!: number;
}

/** A debounce key of a workflow: its execution that has not started yet, and when its burst of dispatches began. */
@Entity({ name: 'stent_debounces' })
export class StentDebounceEntity {
  @PrimaryColumn({ name: 'workflow_name', type: 'varchar', length: 255 }) workflowName!: string;
  @PrimaryColumn({ name: 'dispatch_key', type: 'varchar', length: 255 }) dispatchKey!: string;
  @Column({ name: 'execution_id', type: 'varchar', length: 128 }) executionId!: string;
  @Column({ name: 'first_at', type: 'bigint', transformer: asNumber }) firstAt!: number;
}

/** A singleton key of a workflow and the execution that has its turn (pending or running, or the last one). */
@Entity({ name: 'stent_singletons' })
export class StentSingletonEntity {
  @PrimaryColumn({ name: 'workflow_name', type: 'varchar', length: 255 }) workflowName!: string;
  @PrimaryColumn({ name: 'dispatch_key', type: 'varchar', length: 255 }) dispatchKey!: string;
  @Column({ name: 'holder_id', type: 'varchar', length: 128 }) holderId!: string;
}

/** An execution queued behind a singleton key's holder (not due until it gets the turn), oldest first. */
@Entity({ name: 'stent_singleton_waiters' })
@Index('stent_singleton_waiters_turn', ['workflowName', 'dispatchKey', 'queuedAt'])
export class StentSingletonWaiterEntity {
  @PrimaryColumn({ name: 'execution_id', type: 'varchar', length: 128 }) executionId!: string;
  @Column({ name: 'workflow_name', type: 'varchar', length: 255 }) workflowName!: string;
  @Column({ name: 'dispatch_key', type: 'varchar', length: 255 }) dispatchKey!: string;
  @Column({ name: 'queued_at', type: 'bigint', transformer: asNumber }) queuedAt!: number;
}

/** The value an execution published with Stent.setEvent under a key (the latest set). */
@Entity({ name: 'stent_events' })
export class StentEventEntity {
  @PrimaryColumn({ name: 'execution_id', type: 'varchar', length: 128 }) executionId!: string;
  @PrimaryColumn({ name: 'event_key', type: 'varchar', length: 255 }) eventKey!: string;
  @Column({ type: 'text' }) value!: string;
  /** The journal step that set it. */
  @Column({ type: 'integer' }) position!: number;
  @Column({ name: 'set_at', type: 'bigint', transformer: asNumber }) setAt!: number;
}

/** One entry of an execution's stream: a chunk, or (closed = 1, no chunk) the stream's end. */
@Entity({ name: 'stent_stream_entries' })
export class StentStreamEntryEntity {
  @PrimaryColumn({ name: 'execution_id', type: 'varchar', length: 128 }) executionId!: string;
  @PrimaryColumn({ name: 'stream_key', type: 'varchar', length: 255 }) streamKey!: string;
  @PrimaryColumn({ type: 'integer' }) seq!: number;
  @Column({ type: 'text', nullable: true }) chunk!: string | null;
  @Column({ type: 'integer', default: 0 }) closed!: number;
  /** The journal step that wrote it. */
  @Column({ type: 'integer' }) position!: number;
  @Column({ name: 'written_at', type: 'bigint', transformer: asNumber }) writtenAt!: number;
}

/**
 * A flow-control key of an activity (named as the activity) or of a workflow ('workflow:' and its name):
 * its current rate window (start, end, claims in it) and how long it is parked.
 */
@Entity({ name: 'stent_flow_keys' })
export class StentFlowKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 300 }) name!: string;
  @PrimaryColumn({ name: 'flow_key', type: 'varchar', length: 255 }) flowKey!: string;
  @Column({ name: 'window_start', type: 'bigint', transformer: asNumber, default: 0 }) windowStart!: number;
  @Column({ type: 'integer', default: 0 }) used!: number;
  /** When the window ends (null on rows written before it was recorded, or of a key never counted). */
  @Column({ name: 'window_end', type: 'bigint', transformer: asNumber, nullable: true }) windowEnd!: number | null;
  @Column({ name: 'blocked_until', type: 'bigint', transformer: asNumber, nullable: true }) blockedUntil!: number | null;
}

export const stentEntities = [
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
  StentFlowKeyEntity,
  StentEventEntity,
  StentStreamEntryEntity,
];
