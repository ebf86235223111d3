import type { DeadLetterDetailRecord, DeadLetterFilter, DeadLetterRecord, ExecutionState, Page } from '../../core/index.js';
import { deadLetterFromRow, num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';

/** The dead-letter list as people read it: filtered, paged, one letter with its execution. */
export class AdminDeadLetters {
  constructor(private readonly ctx: SqlContext) {}

  async list(filter: DeadLetterFilter, page: Page): Promise<{ items: DeadLetterRecord[]; total: number }> {
    const { t, client } = this.ctx;
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.executionId !== undefined) {
      where.push('execution_id = ?');
      params.push(filter.executionId);
    }
    if (filter.name !== undefined) {
      where.push('name = ?');
      params.push(filter.name);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [count] = await client.query<{ total: unknown }>(`SELECT COUNT(*) AS total FROM ${t.deadLetters} ${clause}`, params);
    const rows = await client.query(`SELECT * FROM ${t.deadLetters} ${clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, [
      ...params,
      page.limit ?? 50,
      page.offset ?? 0,
    ]);
    return { items: rows.map(deadLetterFromRow), total: num(count?.total ?? 0) };
  }

  async get(id: string): Promise<DeadLetterDetailRecord | null> {
    const { t, client } = this.ctx;
    const [row] = await client.query(
      `SELECT d.*, e.workflow_name AS execution_workflow, e.state AS execution_state
       FROM ${t.deadLetters} d LEFT JOIN ${t.executions} e ON e.id = d.execution_id WHERE d.id = ?`,
      [id],
    );
    if (!row) return null;
    return {
      ...deadLetterFromRow(row),
      workflowName: row.execution_workflow == null ? null : String(row.execution_workflow),
      executionState: row.execution_state == null ? null : (row.execution_state as ExecutionState),
    };
  }
}
