import type { SqlExecutor } from '../clients/sql-client.js';
import type { SqlContext } from '../sql/sql-context.js';

/** A rate key's row in the flow-keys table, as a claim read it. */
export interface WindowRow {
  windowStart: number;
  used: number;
}

/** The start of the fixed window `now` falls in: windows start at multiples of `perMs` since the epoch. */
export function windowStartOf(now: number, rate: { perMs: number }): number {
  return Math.floor(now / rate.perMs) * rate.perMs;
}

/**
 * What one claim takes of each rate key's fixed window (windows start at multiples of `per` since the
 * epoch), for activities and workflows alike; the claim holds the lock of what it claims, so reading the
 * rows, deciding and writing the counts back is one decision.
 */
export class RateWindowCounts {
  readonly windowStart: number;
  private readonly taken = new Map<string, { row: WindowRow | null; count: number }>();

  constructor(
    now: number,
    private readonly rate: { limit: number; perMs: number },
  ) {
    this.windowStart = windowStartOf(now, rate);
  }

  /** Whether `key` (its row as read, or null) has room for one more start in this window; counts it if so. */
  take(key: string, row: WindowRow | null): boolean {
    const entry = this.taken.get(key) ?? { row, count: 0 };
    // `now` was read before this claim waited for the lock: another worker may have counted in a later
    // window meanwhile. Claiming in the earlier one would put the key's row back in time and let the later
    // window fill twice, so this round takes nothing of the key.
    if (entry.row && entry.row.windowStart > this.windowStart) return false;
    const used = entry.row && entry.row.windowStart === this.windowStart ? entry.row.used : 0;
    if (used + entry.count >= this.rate.limit) return false;
    this.count(key, row);
    return true;
  }

  /** Counts one start of `key` without asking (a start already decided, see take). */
  count(key: string, row: WindowRow | null): void {
    const entry = this.taken.get(key) ?? { row, count: 0 };
    entry.count++;
    this.taken.set(key, entry);
  }

  /** Writes the counted starts into each key's row under `name` (created if missing), with the window's end for retention. */
  async record(ctx: SqlContext, tx: SqlExecutor, name: string): Promise<void> {
    const { t } = ctx;
    const { windowStart } = this;
    for (const [key, { row, count }] of this.taken) {
      if (!row) await tx.execute(`INSERT INTO ${t.flowKeys} (name, flow_key, window_start, used) VALUES (?, ?, ?, 0) ON CONFLICT (name, flow_key) DO NOTHING`, [name, key, windowStart]);
      const used = row && row.windowStart === windowStart ? row.used : 0;
      await tx.execute(`UPDATE ${t.flowKeys} SET window_start = ?, used = ?, window_end = ? WHERE name = ? AND flow_key = ?`, [windowStart, used + count, windowStart + this.rate.perMs, name, key]);
    }
  }
}
