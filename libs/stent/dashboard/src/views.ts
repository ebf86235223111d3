/** The JSON the admin API returns (toJsonView of the executor's views: dates as ISO strings). */

export type ExecutionState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'timed_out';
export const EXECUTION_STATES: ExecutionState[] = ['pending', 'running', 'completed', 'failed', 'cancelled', 'timed_out'];
export const FINAL_STATES: ExecutionState[] = ['completed', 'failed', 'cancelled', 'timed_out'];

export interface ErrorView {
  name?: string;
  message?: string;
  code?: string;
  category?: string;
  stack?: string;
  fields?: Record<string, unknown>;
  cause?: ErrorView;
}

export interface ExecutionSummary {
  id: string;
  workflowName: string;
  state: ExecutionState;
  createdAt: string;
  finishedAt: string | null;
}

export interface ExecutionView extends ExecutionSummary {
  args: unknown[];
  progress: unknown;
  counters: Record<string, number>;
  customState: Record<string, unknown>;
  queue: string;
  priority: number;
  tags: string[];
  parentId: string | null;
  idempotencyKey: string | null;
  updatedAt: string;
  startedAt: string | null;
  deadlineAt: string | null;
  wakeAt: string | null;
  leaseOwner: string | null;
  recoveries: number;
  version: number | null;
  continuedFrom: string | null;
  continuedAs: string | null;
  forkedFrom: string | null;
  forkedAt: number | null;
}

export interface ExecutionDetailView extends ExecutionView {
  error: ErrorView | null;
  output: unknown;
  parent: ExecutionSummary | null;
  children: ExecutionSummary[];
  childCount: number;
  childStates: Partial<Record<ExecutionState, number>>;
  timings: { queuedMs: number | null; runMs: number | null; totalMs: number };
  attempts: { steps: number; stepsByKind: Record<string, number>; stepAttempts: number; failedSteps: number; recoveries: number };
}

export interface ListView<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  nextCursor?: string | null;
}

export interface JournalEntryView {
  position: number;
  kind: 'activity' | 'sleep' | 'signal' | 'child' | 'value' | string;
  name: string;
  state: string;
  attempts: number;
  args: unknown;
  result?: unknown;
  error?: ErrorView;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  fireAt: string | null;
}

export interface DeadLetterView {
  id: string;
  stepId: string | null;
  executionId: string;
  kind: string;
  name: string;
  args: unknown;
  error?: ErrorView;
  attempts: number;
  reason: string;
  createdAt: string;
  workflowName?: string | null;
  executionState?: ExecutionState | null;
}

export interface BulkReplayView {
  replayed: Array<{ id: string; executionId: string }>;
  failed: Array<{ id: string; error: ErrorView }>;
}

export interface QueueLoadView {
  queue: string;
  due: number;
  dueActivities: number;
  dueExecutions: number;
  scheduledActivities: number;
  runningActivities: number;
  oldestDueAgeMs: number;
}

export interface ThroughputMinuteView {
  minute: string;
  stepsCompleted: number;
  stepsFailed: number;
  executionsCompleted: number;
  executionsFailed: number;
}

export interface StatsView {
  executions: Record<ExecutionState, number>;
  activities: { due: number; scheduled: number; running: number };
  deadLetters: number;
  backlogAgeMs: number;
  queues: QueueLoadView[];
  throughput: { minutes: number; perMinute: ThroughputMinuteView[]; stepsPerMinute: number; executionsPerMinute: number };
}

export interface WorkerView {
  id: string;
  hostname: string;
  pid: number;
  status: 'live' | 'stopped' | 'lost';
  state: string;
  queues: string[];
  tags: string[];
  workflows: string[];
  activities: string[];
  concurrency: number | null;
  leaseMs: number | null;
  startedAt: string;
  heartbeatAt: string;
  lastSeenMsAgo: number;
}

export interface RetryPolicyView {
  maxAttempts: number;
  initialDelayMs: number;
  backoffFactor: number;
  maxDelayMs: number;
  jitter: number;
  nonRetryable: string[];
}

/** Per-key concurrency and a fixed-window rate limit of a workflow or activity (absent from older servers). */
export interface FlowLimitsView {
  concurrency?: { limit: number } | null;
  rateLimit?: { limit: number; perMs: number; keyed: boolean } | null;
}

export interface DefinitionsView {
  workflows: Array<{ name: string; className: string; queue: string; priority: number | null; tags: string[]; maxDurationMs: number | null } & FlowLimitsView>;
  activities: Array<{
    name: string;
    className: string;
    methodName: string;
    queue: string;
    priority: number | null;
    tags: string[];
    retry: RetryPolicyView;
    timeoutMs: number | null;
    maxConcurrent: number | null;
    cache: { ttlMs: number | null; version: string; customKey: boolean } | null;
  } & FlowLimitsView>;
}

/** A schedule (GET /schedules). */
export interface ScheduleView {
  name: string;
  workflowName: string;
  cron: string;
  timezone: string;
  args: unknown[];
  catchUp: 'skip' | number;
  overlap: 'skip' | 'allow';
  state: 'active' | 'paused';
  source: 'decorator' | 'api';
  queue: string;
  nextTickAt: string | null;
  lastTickAt: string | null;
  lastExecutionId: string | null;
}

/** A paused queue or workflow type (GET /paused). */
export interface PausedView {
  kind: 'queue' | 'workflow';
  name: string;
  pausedAt: string;
}
