import type { PauseKind, PauseRecord } from '../../core/index.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';

/**
 * Paused queues and workflow types. The claim statements read the table through pausedExecution() and
 * pausedStep(); pausing is one row, resuming removes it and wakes the workers.
 */
export class PausesRepository {
  constructor(private readonly ctx: SqlContext) {}

  async setPaused(kind: PauseKind, name: string, paused: boolean, now: number): Promise<boolean> {
    const { client, t } = this.ctx;
    if (paused) {
      const rows = await client.query(`INSERT INTO ${t.pauses} (kind, name, paused_at) VALUES (?, ?, ?) ON CONFLICT (kind, name) DO NOTHING RETURNING name`, [kind, name, now]);
      return rows.length > 0;
    }
    const changed = (await client.execute(`DELETE FROM ${t.pauses} WHERE kind = ? AND name = ?`, [kind, name])) > 0;
    if (changed) this.ctx.bus.publish({ type: 'work' });
    return changed;
  }

  async list(): Promise<PauseRecord[]> {
    const rows = await this.ctx.client.query(`SELECT kind, name, paused_at FROM ${this.ctx.t.pauses} ORDER BY kind, name`);
    return rows.map((row) => ({ kind: row.kind === 'queue' ? 'queue' : 'workflow', name: String(row.name), pausedAt: num(row.paused_at) }));
  }
}

/**
 * An execution row (alias `row`) whose queue and workflow type are not paused. Written as NOT IN over an
 * uncorrelated subquery, which the databases evaluate once per statement (PostgreSQL: a hashed subplan),
 * so the claim keeps the plan its index gives it; a correlated NOT EXISTS became an anti-join and a sort.
 */
export function notPausedExecution(pauses: string, row: string): string {
  return `${row}.queue NOT IN (SELECT p.name FROM ${pauses} p WHERE p.kind = 'queue') AND ${row}.workflow_name NOT IN (SELECT p.name FROM ${pauses} p WHERE p.kind = 'workflow')`;
}

/** A step row (alias `row`) not on a paused queue (see notPausedExecution). */
export function notPausedStep(pauses: string, row: string): string {
  return `${row}.queue NOT IN (SELECT p.name FROM ${pauses} p WHERE p.kind = 'queue')`;
}
