import type { StepEffect } from '../../core/index.js';
import type { SqlExecutor } from '../clients/sql-client.js';
import { num } from '../sql/rows.js';
import type { SqlContext } from '../sql/sql-context.js';
import type { PublishedRepository } from './published.js';

/**
 * Progress, counters, custom state and events of an execution (and its stream entries): applied as each
 * effect step is recorded, and rebuilt from the effect steps left in the journal when steps are dropped.
 */
export class EffectsRepository {
  constructor(
    private readonly ctx: SqlContext,
    private readonly published: PublishedRepository,
  ) {}

  async apply(tx: SqlExecutor, executionId: string, effect: StepEffect, position: number, now: number): Promise<void> {
    const { t } = this.ctx;
    if (effect.kind === 'event' || effect.kind === 'stream') return this.published.apply(tx, executionId, effect, position, now);
    if (effect.kind === 'progress') {
      await tx.execute(`UPDATE ${t.executions} SET progress = ? WHERE id = ?`, [effect.value, executionId]);
      return;
    }
    const column = effect.kind === 'counter' ? 'counters' : 'custom_state';
    const [row] = await tx.query<{ value: string | null }>(`SELECT ${column} AS value FROM ${t.executions} WHERE id = ?`, [executionId]);
    const current = row?.value ? (JSON.parse(row.value) as Record<string, unknown>) : {};
    if (effect.kind === 'counter') current[effect.name] = (typeof current[effect.name] === 'number' ? (current[effect.name] as number) : 0) + effect.by;
    else current[effect.key] = JSON.parse(effect.value);
    await tx.execute(`UPDATE ${t.executions} SET ${column} = ? WHERE id = ?`, [JSON.stringify(current), executionId]);
  }

  /**
   * Rebuilds progress, counters, custom state and events from the effect steps in the journal, in position
   * order. (Stream entries of dropped steps are dropped with them: see PublishedRepository.dropStreamEntries.)
   */
  async recompute(tx: SqlExecutor, executionId: string): Promise<void> {
    const { t } = this.ctx;
    const rows = await tx.query<{ args: string; position: unknown; created_at: unknown }>(
      `SELECT args, position, created_at FROM ${t.steps} WHERE execution_id = ? AND kind = 'value' AND args IS NOT NULL ORDER BY position`,
      [executionId],
    );
    let progress: string | null = null;
    const counters: Record<string, number> = {};
    const state: Record<string, unknown> = {};
    const events = new Map<string, { value: string; position: number; setAt: number }>();
    for (const row of rows) {
      const effect = JSON.parse(row.args) as StepEffect;
      if (effect.kind === 'progress') progress = effect.value;
      else if (effect.kind === 'counter') counters[effect.name] = (counters[effect.name] ?? 0) + effect.by;
      else if (effect.kind === 'state') state[effect.key] = JSON.parse(effect.value);
      else if (effect.kind === 'event') events.set(effect.key, { value: effect.value, position: num(row.position), setAt: num(row.created_at) });
    }
    await this.published.replaceEvents(tx, executionId, events);
    await tx.execute(`UPDATE ${t.executions} SET progress = ?, counters = ?, custom_state = ? WHERE id = ?`, [
      progress,
      Object.keys(counters).length ? JSON.stringify(counters) : null,
      Object.keys(state).length ? JSON.stringify(state) : null,
      executionId,
    ]);
  }
}
