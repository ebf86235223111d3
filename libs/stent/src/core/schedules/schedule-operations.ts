import type { Clock } from '../clock/clock.js';
import type { NewScheduleOptions, ScheduleOptions } from '../api/schedule-options.js';
import { checkName } from '../definitions/names.js';
import type { WorkflowDefinition } from '../definitions/definitions.js';
import { InvalidScheduleError, ScheduleExistsError, ScheduleNotFoundError } from '../errors/index.js';
import { decode, encode } from '../serialization.js';
import type { ScheduleRecord, StentStore } from '../store/index.js';
import type { ResolvedWorkflow } from '../executor/workflow-resolution.js';
import { nextTick, ticksBetween } from './next-tick.js';
import { scheduleSettings, type ScheduleSettings } from './schedule-settings.js';
import { scheduledRun } from './scheduled-run.js';
import { fireDueSchedules } from './schedule-loop.js';
import { stderrLogger, type StentLogger } from '../logger.js';
import { scheduleInfo, type ScheduleInfo } from './schedule-view.js';

/** Most ticks one backfill may start. */
export const MAX_BACKFILL = 1000;

export interface BackfillRange {
  /** First tick time considered (inclusive). */
  from: Date | number | string;
  /** Last tick time considered (inclusive). Default now. */
  to?: Date | number | string;
}

export interface BackfillReport {
  /** Ticks of the schedule in the range. */
  ticks: number;
  /** Executions started for them; a tick that already had a run (fired or backfilled) gets none. */
  created: string[];
  /** Ticks in the range at or before the latest one whose run retention removed: not started again. */
  removed: number;
}

/** What the operations need from the executor: the store, the time, and how a workflow is found. */
export interface ScheduleHost {
  store: StentStore;
  clock: Clock;
  logger?: StentLogger;
  resolve(workflow: unknown): Promise<ResolvedWorkflow>;
}

/**
 * executor.schedules: schedules kept in the database, managed at run time (create, update, pause, resume,
 * delete), listed, and run by hand (trigger: one run now; backfill: the runs of past ticks).
 */
export class ScheduleOperations {
  constructor(private readonly host: ScheduleHost) {}

  async create(options: NewScheduleOptions): Promise<ScheduleInfo> {
    if (options === null || typeof options !== 'object') throw new InvalidScheduleError('options', 'give { name, workflow, cron, ... }');
    checkName('schedule', options.name);
    const settings = scheduleSettings(options, ['name', 'workflow', 'paused']);
    const workflow = await this.host.resolve(options.workflow);
    const now = this.host.clock.now();
    const record = newScheduleRecord(options.name, workflow, settings, 'api', now);
    if (options.paused) {
      record.state = 'paused';
      record.nextTickAt = null;
    }
    if (!(await this.host.store.createSchedule(record))) throw new ScheduleExistsError(options.name);
    return scheduleInfo(record);
  }

  /** Changes a schedule's expression, zone, policies or arguments; a new expression or zone counts from now. */
  async update(name: string, changes: Partial<ScheduleOptions>): Promise<ScheduleInfo> {
    const current = await this.require(name);
    if (changes === null || typeof changes !== 'object') throw new InvalidScheduleError('changes', 'give the options to change, such as { cron: "*/5 * * * *" }');
    const merged: ScheduleOptions = {
      cron: current.cron,
      timezone: current.timezone,
      catchUp: current.catchUp === 0 ? 'skip' : current.catchUp,
      overlap: current.overlap,
      args: decode(current.args) as unknown[],
      ...changes,
    };
    const settings = scheduleSettings(merged);
    const now = this.host.clock.now();
    const retimed = settings.cron.source !== current.cron || settings.timezone !== current.timezone;
    const next: ScheduleRecord = {
      ...current,
      cron: settings.cron.source,
      timezone: settings.timezone,
      catchUp: settings.catchUp,
      overlap: settings.overlap,
      args: encode(settings.args, `schedule '${name}' (args)`),
      nextTickAt: current.state === 'active' && retimed ? nextTick(settings.cron, settings.timezone, now) : current.nextTickAt,
      updatedAt: now,
    };
    if (!(await this.host.store.updateSchedule(next))) throw new ScheduleNotFoundError(name);
    return scheduleInfo(next);
  }

  /** Stops firing; ticks that pass while paused do not run (backfill runs them). */
  async pause(name: string): Promise<ScheduleInfo> {
    const current = await this.require(name);
    return this.save({ ...current, state: 'paused', nextTickAt: null, updatedAt: this.host.clock.now() });
  }

  /** Fires again from the next tick after now. */
  async resume(name: string): Promise<ScheduleInfo> {
    const current = await this.require(name);
    if (current.state === 'active') return scheduleInfo(current);
    const now = this.host.clock.now();
    const settings = scheduleSettings({ cron: current.cron, timezone: current.timezone });
    return this.save({ ...current, state: 'active', nextTickAt: nextTick(settings.cron, settings.timezone, now), updatedAt: now });
  }

  /** Removes the schedule; runs it started are left alone. */
  async delete(name: string): Promise<void> {
    checkName('schedule', name);
    if (!(await this.host.store.deleteSchedule(name))) throw new ScheduleNotFoundError(name);
  }

  async get(name: string): Promise<ScheduleInfo> {
    return scheduleInfo(await this.require(name));
  }

  async list(): Promise<ScheduleInfo[]> {
    return (await this.host.store.listSchedules()).map(scheduleInfo);
  }

  /** Starts one run now (tick = now, marked manual), whatever the schedule's state and overlap policy. */
  async trigger(name: string): Promise<{ executionId: string }> {
    const schedule = await this.require(name);
    const now = this.host.clock.now();
    const [executionId] = await this.host.store.createScheduledRuns(name, [scheduledRun(schedule, now, now, true, false)], true);
    return { executionId: executionId! };
  }

  /**
   * Starts the runs of the schedule's ticks from `from` to `to` (both inclusive, at most MAX_BACKFILL
   * ticks) that have none yet, such as those that passed while it was paused, except ticks at or before the
   * latest one whose run retention removed (ScheduleRecord.removedThrough). The overlap policy does not apply.
   */
  async backfill(name: string, range: BackfillRange): Promise<BackfillReport> {
    const schedule = await this.require(name);
    const now = this.host.clock.now();
    if (range === null || typeof range !== 'object') throw new InvalidScheduleError('backfill', 'give { from, to? }');
    const from = instant('from', range.from);
    const to = range.to === undefined ? now : instant('to', range.to);
    if (to < from) throw new InvalidScheduleError('backfill', '"to" is before "from"');
    const settings = scheduleSettings({ cron: schedule.cron, timezone: schedule.timezone });
    const ticks = ticksBetween(settings.cron, settings.timezone, from - 1, to, MAX_BACKFILL + 1);
    if (ticks.length > MAX_BACKFILL) throw new InvalidScheduleError('backfill', `the range holds more than ${MAX_BACKFILL} ticks; backfill it in parts`);
    // A tick whose run retention removed has no run to find by its key any more: it is not started again.
    const mark = schedule.removedThrough ?? null;
    const open = mark === null ? ticks : ticks.filter((tick) => tick > mark);
    const runs = open.map((tick) => scheduledRun(schedule, tick, now, true));
    const created = runs.length === 0 ? [] : await this.host.store.createScheduledRuns(name, runs, false);
    return { ticks: ticks.length, created, removed: ticks.length - open.length };
  }

  /**
   * Fires the schedules due now, as every worker does each `worker.schedules.checkInterval`; for tests and
   * tools that move time themselves (the testing harness). Returns how many executions it started.
   */
  fireDue(): Promise<number> {
    return fireDueSchedules(this.host.store, this.host.clock.now(), this.host.logger ?? stderrLogger);
  }

  private async require(name: string): Promise<ScheduleRecord> {
    checkName('schedule', name);
    const record = await this.host.store.getSchedule(name);
    if (!record) throw new ScheduleNotFoundError(name);
    return record;
  }

  private async save(record: ScheduleRecord): Promise<ScheduleInfo> {
    if (!(await this.host.store.updateSchedule(record))) throw new ScheduleNotFoundError(record.name);
    return scheduleInfo(record);
  }
}

/** The stored form of a schedule about to be created, due at its first tick after `now`. */
export function newScheduleRecord(name: string, workflow: ResolvedWorkflow | WorkflowDefinition, settings: ScheduleSettings, source: 'decorator' | 'api', now: number): ScheduleRecord {
  return {
    name,
    workflowName: workflow.name,
    cron: settings.cron.source,
    timezone: settings.timezone,
    args: encode(settings.args, `schedule '${name}' (args)`),
    catchUp: settings.catchUp,
    overlap: settings.overlap,
    state: 'active',
    source,
    queue: workflow.queue,
    priority: workflow.priority,
    tags: workflow.tags,
    maxDurationMs: workflow.maxDurationMs,
    nextTickAt: nextTick(settings.cron, settings.timezone, now),
    lastTickAt: null,
    lastExecutionId: null,
    createdAt: now,
    updatedAt: now,
  };
}

function instant(field: string, value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw new InvalidScheduleError(`backfill ${field}`, 'must be a Date, epoch milliseconds or an ISO 8601 time');
  return ms;
}
