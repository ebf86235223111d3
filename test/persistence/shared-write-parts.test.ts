import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { listenToWakeEvents } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { capture } from '../support/statement-capture.js';
import { waitUntil } from '../support/wait.js';

/**
 * A shared write on PostgreSQL carries only the parts it has work for: PostgreSQL sets up and runs every
 * part of a statement whether or not it has rows. A sequential step's write (the last result and the next
 * step) carries no ending and no NOTIFY; the write that ends the run carries no insert; the NOTIFY naming
 * the ended execution still goes out with it.
 */

class PartsActs {
  async add(n: number, by: number): Promise<number> {
    return n + by;
  }
}
defineActivity(PartsActs);

class PartsFlow {
  constructor(private readonly acts: PartsActs) {}
  async run(start: number): Promise<number> {
    let n = start;
    for (let i = 1; i <= 4; i++) n = await this.acts.add(n, i);
    return n;
  }
}
defineWorkflow(PartsFlow);

describe('parts of a shared write on postgres', () => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('a step write carries no ending and no NOTIFY, the ending no insert, and the ending is still announced', async () => {
    set = await ExecutorSet.create('postgres');
    const acts = new PartsActs();
    const executor = await set.executor([acts, new PartsFlow(acts)], QUICK_WORKER);
    const { heard, end } = await listenToWakeEvents(set.db.schema!);
    set.onCleanup(end);

    let id = '';
    const sent = await capture(async () => {
      id = await executor.dispatch(PartsFlow, [10]);
      expect(await executor.waitFor<number>(id, { timeout: '30s' })).toMatchObject({ ok: true, value: 20 });
    });
    const writes = sent.map(({ sql }) => sql).filter((sql) => sql.trimStart().startsWith('WITH done AS'));
    const stepWrites = writes.filter((sql) => /\bins AS\b/.test(sql));
    const endings = writes.filter((sql) => /\bfin AS\b/.test(sql));
    // Calls 2-4 go in with the result before each; the first goes in with the dispatch when this process's
    // worker takes it at once, else alone after a claim round. Then the ending, with the last result.
    expect(stepWrites.length).toBeGreaterThanOrEqual(3);
    expect(stepWrites.length).toBeLessThanOrEqual(4);
    for (const sql of stepWrites) {
      expect(sql).not.toMatch(/\bfin AS\b/);
      expect(sql).not.toContain('pg_notify');
    }
    expect(endings).toHaveLength(1);
    expect(endings[0]).not.toMatch(/\bins AS\b/);
    expect(endings[0]).toContain('pg_notify');
    await waitUntil(() => heard.some((event) => event.type === 'finished' && event.executionId === id), 'the NOTIFY naming the ended execution', 10_000);

    const journal = await executor.getJournal(id);
    expect(journal.map((entry) => [entry.position, entry.state, entry.result])).toEqual([
      [0, 'completed', 11],
      [1, 'completed', 13],
      [2, 'completed', 16],
      [3, 'completed', 20],
    ]);
  });
});
