import type { StentExecutor } from 'nestjs-stent';
import type { Inspector } from './inspector.js';

const FINAL = ['completed', 'failed', 'cancelled', 'timed_out'];

/**
 * Journal invariants, read straight from the tables: unique (execution, position); nothing pending, waiting
 * or running in a final execution; no lease on a final execution or on its steps; counters, progress and
 * custom state equal to a fold of the effect steps in the journal.
 */
export async function invariantProblems(inspector: Inspector, executionIds?: string[]): Promise<string[]> {
  const problems: string[] = [];
  const { t } = inspector;
  const executions = await inspector.query<Record<string, unknown>>(`SELECT * FROM ${t.executions}`);
  const wanted = executionIds ? new Set(executionIds) : undefined;
  for (const e of executions) {
    const id = String(e.id);
    if (wanted && !wanted.has(id)) continue;
    const steps = await inspector.query<Record<string, unknown>>(`SELECT * FROM ${t.steps} WHERE execution_id = ? ORDER BY position`, [id]);
    const positions = new Set<number>();
    for (const s of steps) {
      const p = Number(s.position);
      if (positions.has(p)) problems.push(`${id}: two steps at position ${p}`);
      positions.add(p);
    }
    const final = FINAL.includes(String(e.state));
    if (final) {
      if (e.lease_owner !== null) problems.push(`${id} (${e.state}): lease still held by ${e.lease_owner}`);
      for (const s of steps) {
        if (['pending', 'waiting', 'running'].includes(String(s.state))) problems.push(`${id} (${e.state}): step #${s.position} ${s.name} left ${s.state}`);
        if (s.lease_owner !== null && String(s.state) !== 'running') problems.push(`${id} (${e.state}): step #${s.position} keeps a lease while ${s.state}`);
      }
    }
    // fold of effects
    let progress: string | null = null;
    const counters: Record<string, number> = {};
    const state: Record<string, unknown> = {};
    for (const s of steps) {
      if (s.kind !== 'value' || s.args === null) continue;
      const effect = JSON.parse(String(s.args)) as { kind: string; name?: string; by?: number; key?: string; value?: string };
      if (effect.kind === 'progress') progress = effect.value!;
      else if (effect.kind === 'counter') counters[effect.name!] = (counters[effect.name!] ?? 0) + effect.by!;
      else if (effect.kind === 'state') state[effect.key!] = JSON.parse(effect.value!);
    }
    const stored = {
      progress: e.progress === null ? null : JSON.parse(String(e.progress)),
      counters: e.counters === null ? {} : JSON.parse(String(e.counters)),
      state: e.custom_state === null ? {} : JSON.parse(String(e.custom_state)),
    };
    const folded = { progress: progress === null ? null : JSON.parse(progress), counters, state };
    if (JSON.stringify(stored) !== JSON.stringify(folded)) problems.push(`${id}: totals ${JSON.stringify(stored)} differ from the journal's fold ${JSON.stringify(folded)}`);
  }
  return problems;
}

/** What waitFor gives, reduced to comparable data. */
export async function outcomeShape(executor: StentExecutor, id: string): Promise<Record<string, unknown>> {
  const r = await executor.waitFor(id, { timeout: '15s' });
  const error = r.error as unknown;
  const errorShape =
    error instanceof Error
      ? { class: error.constructor.name, name: error.name, message: error.message, own: Object.fromEntries(Object.entries(error).filter(([k]) => k !== 'stack')) }
      : error;
  const value = r.value as unknown;
  return { ok: r.ok, state: r.state, value: value instanceof Error ? { class: value.constructor.name, message: value.message } : value, error: errorShape, json: JSON.stringify(r) };
}
