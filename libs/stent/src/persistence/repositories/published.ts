import type { StepEffect, StreamEntryRecord } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';

type Published = Extract<StepEffect, { kind: 'event' | 'stream' }>;

/**
 * What executions publish for readers outside them: events (one value per key) and stream entries. Rows are
 * written in the transaction of the journal step that makes them (see EffectsRepository), and carry that
 * step's position so a dropped step takes its rows with it.
 */
export class PublishedRepository {
  constructor(private readonly ctx: SqlContext) {}

  async apply(tx: SqlExecutor, executionId: string, effect: Published, position: number, now: number): Promise<void> {
    const { t } = this.ctx;
    if (effect.kind === 'event') {
      await tx.execute(
        `INSERT INTO ${t.events} (execution_id, event_key, value, position, set_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (execution_id, event_key) DO UPDATE SET value = excluded.value, position = excluded.position, set_at = excluded.set_at`,
        [executionId, effect.key, effect.value, position, now],
      );
      return;
    }
    // An entry of a dropped step may be written again with other content by the replay that dropped it.
    await tx.execute(
      `INSERT INTO ${t.streams} (execution_id, stream_key, seq, chunk, closed, position, written_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (execution_id, stream_key, seq) DO UPDATE SET chunk = excluded.chunk, closed = excluded.closed, position = excluded.position, written_at = excluded.written_at`,
      [executionId, effect.key, effect.seq, effect.chunk, effect.chunk === null ? 1 : 0, position, now],
    );
  }

  async getEvent(executionId: string, key: string): Promise<string | null> {
    const [row] = await this.ctx.client.query<{ value: string }>(`SELECT value FROM ${this.ctx.t.events} WHERE execution_id = ? AND event_key = ?`, [executionId, key]);
    return row ? row.value : null;
  }

  async readStream(executionId: string, key: string, fromSeq: number, limit: number): Promise<StreamEntryRecord[]> {
    const rows = await this.ctx.client.query<{ seq: unknown; chunk: string | null; closed: unknown }>(
      `SELECT seq, chunk, closed FROM ${this.ctx.t.streams} WHERE execution_id = ? AND stream_key = ? AND seq >= ? ORDER BY seq LIMIT ?`,
      [executionId, key, fromSeq, limit],
    );
    return rows.map((row) => ({ seq: num(row.seq), chunk: row.chunk, closed: num(row.closed) === 1 }));
  }

  /** Stream entries written by steps at these positions (steps being dropped). */
  async dropStreamEntries(tx: SqlExecutor, executionId: string, positions: number[]): Promise<void> {
    const params: unknown[] = [executionId];
    await tx.execute(`DELETE FROM ${this.ctx.t.streams} WHERE execution_id = ? AND ${this.ctx.dialect.inList('position', positions, params)}`, params);
  }

  /** Sets the execution's events to these (the latest set of each key among the steps that remain). */
  async replaceEvents(tx: SqlExecutor, executionId: string, events: Map<string, { value: string; position: number; setAt: number }>): Promise<void> {
    await tx.execute(`DELETE FROM ${this.ctx.t.events} WHERE execution_id = ?`, [executionId]);
    for (const [key, event] of events) await this.apply(tx, executionId, { kind: 'event', key, value: event.value }, event.position, event.setAt);
  }
}
