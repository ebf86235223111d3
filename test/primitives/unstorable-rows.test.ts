import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, InvalidNameError, setActivityMethodOptions, Stent, UnstorableValueError, type StentExecutor } from 'nestjs-stent';
import { DIALECTS, type Dialect } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';

/**
 * Rows the database cannot store as the workflow asks for them, written alongside healthy workflows
 * (PostgreSQL shares statements between executions): each fails (or is made storable) on its own, the
 * healthy ones finish with every activity body run once, and nothing is replayed over and over.
 */

/** Runs of each activity body and of each workflow's run(), by execution argument. */
const bodies = new Map<string, number>();
const runs = new Map<string, number>();
const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

class Chores {
  async step(tag: string, i: number): Promise<string> {
    bump(bodies, `${tag}#${i}`);
    return `${tag}#${i}`;
  }
  async lookup(customer: string): Promise<string> {
    bump(bodies, `lookup:${customer}`);
    return `record of ${customer}`;
  }
  async slow(tag: string): Promise<string> {
    bump(bodies, `slow:${tag}`);
    return tag;
  }
}
// A custom cache key of any length.
setActivityMethodOptions(Chores.prototype, 'lookup', { idempotent: true, key: (customer: string) => `${'customer-'.repeat(100)}${customer}` });
// 30 days in milliseconds does not fit PostgreSQL's integer timeout column: nothing refuses it sooner.
setActivityMethodOptions(Chores.prototype, 'slow', { timeout: '30d' });
defineActivity(Chores, { name: 'UnstorableChores' });

class Healthy {
  constructor(private readonly chores: Chores) {}
  async run(tag: string): Promise<string[]> {
    bump(runs, tag);
    return Promise.all([0, 1, 2].map((i) => this.chores.step(tag, i)));
  }
}
defineWorkflow(Healthy, { name: 'UnstorableHealthy' });

class Misfits {
  constructor(private readonly chores: Chores) {}
  async run(kind: 'counter' | 'state' | 'timeout', tag: string): Promise<string> {
    bump(runs, tag);
    await this.chores.step(tag, 0);
    if (kind === 'counter') Stent.incrementCounter('c'.repeat(300));
    if (kind === 'state') Stent.setState('k'.repeat(300), 1);
    if (kind === 'timeout') await this.chores.slow(tag);
    return 'unreachable';
  }
}
defineWorkflow(Misfits, { name: 'UnstorableMisfits' });

class Lookups {
  constructor(private readonly chores: Chores) {}
  async run(customer: string): Promise<string> {
    return this.chores.lookup(customer);
  }
}
defineWorkflow(Lookups, { name: 'UnstorableLookups' });

/** A tree of child executions `depth` deep: each level's id is longer if built from its parent's. */
class Nest {
  child: Nest | undefined;
  async run(depth: number): Promise<number> {
    if (depth === 0) return 0;
    return 1 + (await this.child!.run(depth - 1));
  }
}
defineWorkflow(Nest, { name: 'UnstorableNest' });

describe.each(DIALECTS)('rows that cannot be stored as asked, beside healthy work (%s)', (dialect: Dialect) => {
  let set: ExecutorSet | undefined;
  let executor: StentExecutor;

  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  async function start(): Promise<void> {
    bodies.clear();
    runs.clear();
    set = await ExecutorSet.create(dialect);
    const chores = new Chores();
    const nest = new Nest();
    nest.child = nest;
    executor = await set.executor([chores, new Healthy(chores), new Misfits(chores), new Lookups(chores), nest], {
      concurrency: 16,
      pollInterval: '20ms',
      maxPollInterval: '200ms',
      lease: '10s',
    });
  }

  /** Dispatches `misfits` between 60 healthy workflows, in one go, so their writes share statements. */
  async function besideHealthy(misfits: Array<() => Promise<string>>): Promise<string[]> {
    const healthy: Array<Promise<string>> = [];
    const odd: Array<Promise<string>> = [];
    for (let i = 0; i < 60; i++) {
      healthy.push(executor.dispatch(Healthy, [`h${i}`]));
      if (i === 30) for (const misfit of misfits) odd.push(misfit());
    }
    const healthyIds = await Promise.all(healthy);
    const ids = await Promise.all(odd);
    for (const id of healthyIds) expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('completed');
    for (let i = 0; i < 60; i++) {
      for (let k = 0; k < 3; k++) expect(bodies.get(`h${i}#${k}`), `body h${i}#${k} ran once`).toBe(1);
      expect(runs.get(`h${i}`), `healthy workflow h${i} was not replayed`).toBe(1);
    }
    return ids;
  }

  it('a counter name or state key too long for the journal fails its own execution with InvalidNameError', async () => {
    await start();
    const ids = await besideHealthy([
      () => executor.dispatch(Misfits, ['counter', 'counter-1']),
      () => executor.dispatch(Misfits, ['state', 'state-1']),
    ]);
    for (const id of ids) {
      const result = await executor.waitFor(id, { timeout: '30s' });
      expect(result.state).toBe('failed');
      expect(result.error).toBeInstanceOf(InvalidNameError);
      expect(result.error).toMatchObject({ code: 'STENT_INVALID_NAME' });
    }
    // Failed once, not replayed in a loop.
    expect(runs.get('counter-1')).toBe(1);
    expect(runs.get('state-1')).toBe(1);
  });

  it('a custom cache key of 1,000 characters is stored (hashed) and reused', async () => {
    await start();
    const [first] = await besideHealthy([() => executor.dispatch(Lookups, ['ada'])]);
    expect((await executor.waitFor(first!, { timeout: '30s' })).value).toBe('record of ada');
    const again = await executor.dispatch(Lookups, ['ada']);
    expect((await executor.waitFor(again, { timeout: '30s' })).value).toBe('record of ada');
    expect(bodies.get('lookup:ada')).toBe(1);
  });

  it('child executions twelve levels deep get ids that fit', async () => {
    await start();
    const [id] = await besideHealthy([() => executor.dispatch(Nest, [12])]);
    const result = await executor.waitFor(id!, { timeout: '60s' });
    expect(result.state).toBe('completed');
    expect(result.value).toBe(12);
  });

  if (dialect === 'postgres') {
    it('a step the database refuses (a timeout too large for its column) fails its own execution with UnstorableValueError, once', async () => {
      await start();
      const [id] = await besideHealthy([() => executor.dispatch(Misfits, ['timeout', 'timeout-1'])]);
      const result = await executor.waitFor(id!, { timeout: '30s' });
      expect(result.state).toBe('failed');
      expect(result.error).toBeInstanceOf(UnstorableValueError);
      expect(result.error).toMatchObject({ code: 'STENT_UNSTORABLE_VALUE' });
      expect(runs.get('timeout-1')).toBe(1);
      expect(bodies.get('slow:timeout-1')).toBeUndefined();
    });
  }
});
