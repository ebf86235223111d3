import type { NewExecution, ScheduleFired, ScheduleFiring, ScheduleRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import type { Row } from '../sql/dialect.js';
import { num, numOrNull, strOrNull } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import { ACTIVE } from '../sql/statements.js';
import type { ExecutionsRepository } from './executions.js';

const COLUMNS = [
  'name', 'workflow_name', 'cron', 'timezone', 'args', 'catch_up', 'overlap', 'state', 'source', 'queue', 'priority', 'tags',
  'max_duration_ms', 'next_tick_at', 'last_tick_at', 'last_execution_id', 'created_at', 'updated_at',
] as const;
/** Read with the rest; written only by retention (see CleanupRepository). */
const READ = [...COLUMNS, 'removed_through'].join(', ');
/** What a declared schedule's code decides (the rest is the schedule's own history). */
const DECLARED = ['workflow_name', 'cron', 'timezone', 'args', 'catch_up', 'overlap', 'queue', 'priority', 'tags', 'max_duration_ms'] as const;

/**
 * Schedules: their rows, and firing one (moving its next tick on and creating the tick's runs in one
 * transaction, conditional on the next tick the caller read).
 */
export class SchedulesRepository {
  constructor(
    private readonly ctx: SqlContext,
    private readonly executions: ExecutionsRepository,
  ) {}

  async create(schedule: ScheduleRecord): Promise<boolean> {
    const rows = await this.ctx.client.query(
      `INSERT INTO ${this.ctx.t.schedules} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (name) DO NOTHING RETURNING name`,
      values(schedule),
    );
    return rows.length > 0;
  }

  async syncDeclared(schedule: ScheduleRecord): Promise<void> {
    const changed = DECLARED.map((column) => `s.${column} IS DISTINCT FROM excluded.${column}`).join(' OR ');
    const distinct = this.ctx.dialect.name === 'sqlite' ? changed.replace(/IS DISTINCT FROM/g, 'IS NOT') : changed;
    await this.ctx.client.execute(
      `INSERT INTO ${this.ctx.t.schedules} AS s (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (name) DO UPDATE SET ${DECLARED.map((column) => `${column} = excluded.${column}`).join(', ')},
         next_tick_at = CASE WHEN s.state = 'active' AND (s.cron <> excluded.cron OR s.timezone <> excluded.timezone) THEN excluded.next_tick_at ELSE s.next_tick_at END,
         updated_at = excluded.updated_at
       WHERE s.source = 'decorator' AND (${distinct})`,
      values(schedule),
    );
  }

  async update(schedule: ScheduleRecord): Promise<boolean> {
    const changed = await this.ctx.client.execute(
      `UPDATE ${this.ctx.t.schedules} SET cron = ?, timezone = ?, args = ?, catch_up = ?, overlap = ?, state = ?, next_tick_at = ?, updated_at = ? WHERE name = ?`,
      [schedule.cron, schedule.timezone, schedule.args, schedule.catchUp, schedule.overlap, schedule.state, schedule.nextTickAt, schedule.updatedAt, schedule.name],
    );
    return changed > 0;
  }

  async delete(name: string): Promise<boolean> {
    return (await this.ctx.client.execute(`DELETE FROM ${this.ctx.t.schedules} WHERE name = ?`, [name])) > 0;
  }

  async get(name: string): Promise<ScheduleRecord | null> {
    const rows = await this.ctx.client.query(`SELECT ${READ} FROM ${this.ctx.t.schedules} WHERE name = ?`, [name]);
    return rows[0] ? scheduleFromRow(rows[0]) : null;
  }

  async list(): Promise<ScheduleRecord[]> {
    const rows = await this.ctx.client.query(`SELECT ${READ} FROM ${this.ctx.t.schedules} ORDER BY name`);
    return rows.map(scheduleFromRow);
  }

  async due(now: number): Promise<ScheduleRecord[]> {
    const rows = await this.ctx.client.query(
      `SELECT ${READ} FROM ${this.ctx.t.schedules} WHERE state = 'active' AND next_tick_at IS NOT NULL AND next_tick_at <= ? ORDER BY next_tick_at`,
      [now],
    );
    return rows.map(scheduleFromRow);
  }

  async fire(firing: ScheduleFiring): Promise<ScheduleFired> {
    const { t, client } = this.ctx;
    const fired = await client.transaction(async (tx): Promise<ScheduleFired> => {
      // Whoever moves the next tick on first fires it; the others change nothing (and the tick's
      // idempotency key would stop a second run anyway).
      const advanced = await tx.execute(
        `UPDATE ${t.schedules} SET next_tick_at = ?, last_tick_at = ?, updated_at = ? WHERE name = ? AND state = 'active' AND next_tick_at = ?`,
        [firing.nextTickAt, firing.lastTickAt, firing.now, firing.name, firing.expectedNextTickAt],
      );
      if (advanced === 0) return { advanced: false, created: [], skippedOverlap: false };
      if (firing.skipIfRunning) {
        const busy = await tx.query(
          `SELECT 1 AS busy FROM ${t.schedules} s JOIN ${t.executions} e ON e.id = s.last_execution_id WHERE s.name = ? AND e.state IN ${ACTIVE}`,
          [firing.name],
        );
        if (busy.length > 0) return { advanced: true, created: [], skippedOverlap: true };
      }
      return { advanced: true, created: await this.insertRuns(tx, firing.name, firing.executions, true), skippedOverlap: false };
    });
    if (fired.created.length > 0) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    return fired;
  }

  async createRuns(name: string, executions: NewExecution[], recordLast: boolean): Promise<string[]> {
    const created = await this.ctx.client.transaction((tx) => this.insertRuns(tx, name, executions, recordLast));
    if (created.length > 0) this.ctx.bus.publish({ type: 'work', of: 'executions' });
    return created;
  }

  private async insertRuns(tx: SqlExecutor, name: string, executions: NewExecution[], recordLast: boolean): Promise<string[]> {
    const created: string[] = [];
    for (const execution of executions) {
      if ((await this.executions.insertExecution(tx, execution)).created) created.push(execution.id);
    }
    if (recordLast && created.length > 0) {
      await tx.execute(`UPDATE ${this.ctx.t.schedules} SET last_execution_id = ? WHERE name = ?`, [created[created.length - 1], name]);
    }
    return created;
  }
}

function values(s: ScheduleRecord): unknown[] {
  return [
    s.name, s.workflowName, s.cron, s.timezone, s.args, s.catchUp, s.overlap, s.state, s.source, s.queue, s.priority, JSON.stringify(s.tags),
    s.maxDurationMs, s.nextTickAt, s.lastTickAt, s.lastExecutionId, s.createdAt, s.updatedAt,
  ];
}

function scheduleFromRow(row: Row): ScheduleRecord {
  return {
    name: String(row.name),
    workflowName: String(row.workflow_name),
    cron: String(row.cron),
    timezone: String(row.timezone),
    args: String(row.args),
    catchUp: num(row.catch_up),
    overlap: row.overlap === 'skip' ? 'skip' : 'allow',
    state: row.state === 'paused' ? 'paused' : 'active',
    source: row.source === 'decorator' ? 'decorator' : 'api',
    queue: String(row.queue),
    priority: numOrNull(row.priority),
    tags: JSON.parse(String(row.tags ?? '[]')) as string[],
    maxDurationMs: numOrNull(row.max_duration_ms),
    nextTickAt: numOrNull(row.next_tick_at),
    lastTickAt: numOrNull(row.last_tick_at),
    lastExecutionId: strOrNull(row.last_execution_id),
    removedThrough: numOrNull(row.removed_through),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}
