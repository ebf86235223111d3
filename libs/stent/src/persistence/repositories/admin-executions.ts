import type { ExecutionFilter, ExecutionPage, ExecutionRecord, ExecutionRelativesRecord, ExecutionState, ExecutionSummaryRecord } from '../../core/index.js';
import { listOf, type Row } from '../sql/dialect.js';
import { EXECUTION_READ, executionFromRow, num, numOrNull } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';

const summaryFromRow = (row: Row): ExecutionSummaryRecord => ({
  id: String(row.id),
  workflowName: String(row.workflow_name),
  state: row.state as ExecutionState,
  createdAt: num(row.created_at),
  finishedAt: numOrNull(row.finished_at),
});

/** Execution listings and one execution's surroundings, for people and dashboards. */
export class AdminExecutions {
  constructor(private readonly ctx: SqlContext) {}

  async list(filter: ExecutionFilter, page: ExecutionPage): Promise<{ items: ExecutionRecord[]; total: number }> {
    const { t, client } = this.ctx;
    const { where, params } = this.where(filter);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [count] = await client.query<{ total: unknown }>(`SELECT COUNT(*) AS total FROM ${t.executions} ${clause}`, params);
    const pageWhere = [...where];
    const pageParams = [...params];
    if (page.after) {
      // Keyset: the rows after the last one handed out, in the same order (stable while rows are added).
      pageWhere.push('(created_at < ? OR (created_at = ? AND id < ?))');
      pageParams.push(page.after.createdAt, page.after.createdAt, page.after.id);
    }
    const pageClause = pageWhere.length ? `WHERE ${pageWhere.join(' AND ')}` : '';
    const rows = await client.query(
      `SELECT ${listOf(EXECUTION_READ)} FROM ${t.executions} ${pageClause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
      [...pageParams, page.limit, page.after ? 0 : (page.offset ?? 0)],
    );
    return { items: rows.map(executionFromRow), total: num(count?.total ?? 0) };
  }

  private where(filter: ExecutionFilter): { where: string[]; params: unknown[] } {
    const { dialect } = this.ctx;
    const where: string[] = [];
    const params: unknown[] = [];
    const equal = (column: string, value: unknown) => {
      where.push(`${column} = ?`);
      params.push(value);
    };
    if (filter.state !== undefined) where.push(dialect.inList('state', Array.isArray(filter.state) ? filter.state : [filter.state], params));
    if (filter.workflowName !== undefined) equal('workflow_name', filter.workflowName);
    if (filter.parentId !== undefined) equal('parent_id', filter.parentId);
    if (filter.queue !== undefined) equal('queue', filter.queue);
    if (filter.tag !== undefined) where.push(dialect.tagFilter([filter.tag], params));
    const range = (column: string, op: '>=' | '<', value: number | undefined) => {
      if (value === undefined) return;
      where.push(`${column} ${op} ?`);
      params.push(value);
    };
    range('created_at', '>=', filter.createdAfter);
    range('created_at', '<', filter.createdBefore);
    range('updated_at', '>=', filter.updatedAfter);
    range('updated_at', '<', filter.updatedBefore);
    if (filter.idPrefix !== undefined) {
      // substr, not LIKE: '_' and '%' in an id are characters, and SQLite's LIKE ignores case.
      where.push('substr(id, 1, ?) = ?');
      params.push([...filter.idPrefix].length, filter.idPrefix);
    }
    return { where, params };
  }

  async relatives(execution: ExecutionRecord, childLimit: number): Promise<ExecutionRelativesRecord> {
    const { t, client } = this.ctx;
    const summary = 'id, workflow_name, state, created_at, finished_at';
    const [parent] = execution.parentId ? await client.query(`SELECT ${summary} FROM ${t.executions} WHERE id = ?`, [execution.parentId]) : [];
    const children = await client.query(`SELECT ${summary} FROM ${t.executions} WHERE parent_id = ? ORDER BY parent_position, created_at, id LIMIT ?`, [
      execution.id,
      childLimit,
    ]);
    const childStates: Partial<Record<ExecutionState, number>> = {};
    let childCount = 0;
    for (const row of await client.query<{ state: ExecutionState; n: unknown }>(`SELECT state, COUNT(*) AS n FROM ${t.executions} WHERE parent_id = ? GROUP BY state`, [execution.id])) {
      childStates[row.state] = num(row.n);
      childCount += num(row.n);
    }
    const steps = { total: 0, attempts: 0, failed: 0, byKind: {} as Record<string, number> };
    const byKind = await client.query<{ kind: string; n: unknown; attempts: unknown; failed: unknown }>(
      `SELECT kind, COUNT(*) AS n, COALESCE(SUM(attempts), 0) AS attempts, COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed
       FROM ${t.steps} WHERE execution_id = ? GROUP BY kind`,
      [execution.id],
    );
    for (const row of byKind) {
      steps.byKind[row.kind] = num(row.n);
      steps.total += num(row.n);
      steps.attempts += num(row.attempts);
      steps.failed += num(row.failed);
    }
    return { parent: parent ? summaryFromRow(parent) : null, children: children.map(summaryFromRow), childCount, childStates, steps };
  }
}
