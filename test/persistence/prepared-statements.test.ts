import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { ExecutorSet } from '../support/executor-set.js';

/**
 * On PostgreSQL the statements on a step's path are sent as named (prepared) statements, so the server
 * parses and plans each once per connection instead of at every step. Only statements selecting `*` stay
 * unnamed (a migration adding columns must not break a running worker's cached plan); the lease clock's
 * `* 1000` once made every statement stamping a lease unnamed, re-planned at each step (about three
 * quarters of the server's CPU per sequential step in the bench).
 */

class CountingActs {
  async next(n: number): Promise<number> {
    return n + 1;
  }
}
defineActivity(CountingActs);

class CountingFlow {
  constructor(private readonly acts: CountingActs) {}
  async run(length: number): Promise<number> {
    let n = 0;
    for (let i = 0; i < length; i++) n = await this.acts.next(n);
    return n;
  }
}
defineWorkflow(CountingFlow);

interface Sent {
  text: string;
  name: string | undefined;
}

/** Records every statement the pg driver is asked to send, with the name it is prepared under. */
function captureStatements(): { sent: Sent[]; stop(): void } {
  const sent: Sent[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const [config] = args;
    if (typeof config === 'string') sent.push({ text: config, name: undefined });
    else if (config && typeof config === 'object' && 'text' in config) {
      const { text, name } = config as { text: string; name?: string };
      sent.push({ text: String(text), name });
    }
    return (original as (...args: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  return { sent, stop: () => void (pg.Client.prototype.query = original) };
}

describe('prepared statements on postgres', () => {
  let set: ExecutorSet | undefined;
  let capture: ReturnType<typeof captureStatements> | undefined;
  afterEach(async () => {
    capture?.stop();
    await set?.dispose();
    set = capture = undefined;
  });

  it('a step, the dispatch and the lease statements are prepared; statements selecting * are not', async () => {
    set = await ExecutorSet.create('postgres');
    const acts = new CountingActs();
    const executor = await set.executor([acts, new CountingFlow(acts)]);
    capture = captureStatements();
    expect((await executor.waitFor(await executor.dispatch(CountingFlow, [8]), { timeout: '20s' })).value).toBe(8);
    await executor.listWorkers();
    const { sent } = capture;
    capture.stop();

    const stampsLease = sent.filter((s) => s.text.includes('statement_timestamp()'));
    const stepWrites = stampsLease.filter((s) => /INSERT INTO \S*stent_steps/.test(s.text));
    const dispatches = sent.filter((s) => /INSERT INTO \S*stent_executions/.test(s.text));
    // Seven steps carry the previous result along with the next step; the first goes in alone.
    expect(stepWrites.length).toBeGreaterThanOrEqual(8);
    expect(dispatches.length).toBe(1);
    for (const statement of [...stampsLease, ...dispatches]) expect(statement.name, statement.text).toMatch(/^stent_[0-9a-f]{20}$/);
    // The same text is always prepared under the same name, so each connection plans it once.
    const names = new Map<string, Set<string>>();
    for (const s of stepWrites) names.set(s.text, (names.get(s.text) ?? new Set()).add(s.name!));
    for (const [, set] of names) expect(set.size).toBe(1);
    // A step alone, a step with the result before it, and the ending with the last result (every shared
    // statement's text holds the insert, empty when it inserts nothing).
    expect(names.size).toBeLessThanOrEqual(3);

    const selectsStar = sent.filter((s) => /SELECT \*/.test(s.text));
    expect(selectsStar.length).toBeGreaterThan(0);
    for (const statement of selectsStar) expect(statement.name, statement.text).toBeUndefined();
  });
});
