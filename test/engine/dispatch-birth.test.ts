import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow, setActivityMethodOptions, UnstorableValueError, type StentExecutor } from 'nestjs-stent';
import { DIALECTS, type Dialect } from '../support/databases.js';
import { ExecutorSet, Gate, QUICK_WORKER } from '../support/executor-set.js';
import { capture, type Sent } from '../support/statement-capture.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { invariantProblems } from '../support/invariants.js';
import { waitUntil } from '../support/wait.js';

/**
 * A dispatch that this process's worker runs starts its run before the execution is inserted, and the
 * run's first write inserts the execution with its first steps (one commit). What a dispatch promises
 * must hold all the same: it resolves once the execution is in the database, an idempotency key still
 * picks one execution, a paused workflow is left to claims, and a first step the database refuses fails
 * the execution, not the dispatch.
 */

/** Runs of each activity body and of each workflow's run(), by tag. */
const bodies = new Map<string, number>();
const runs = new Map<string, number>();
const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

class BirthActs {
  async ping(tag: string): Promise<string> {
    bump(bodies, tag);
    return `pong ${tag}`;
  }
  async slow(tag: string): Promise<string> {
    bump(bodies, `slow:${tag}`);
    return tag;
  }
}
// 30 days in milliseconds does not fit PostgreSQL's integer timeout column: the step's row is refused.
setActivityMethodOptions(BirthActs.prototype, 'slow', { timeout: '30d' });
defineActivity(BirthActs, { name: 'BirthActs' });

class OnePing {
  constructor(private readonly acts: BirthActs) {}
  async run(tag: string): Promise<string> {
    bump(runs, tag);
    return this.acts.ping(tag);
  }
}
defineWorkflow(OnePing, { name: 'BirthOnePing' });

/** `width` pings at once as its first durable calls, one more, then `width` again; returns how many answered. */
class WideFan {
  constructor(private readonly acts: BirthActs) {}
  async run(width: number): Promise<number> {
    const fan = (part: string) => Promise.all(Array.from({ length: width }, (_, i) => this.acts.ping(`${width}:${part}${i}`)));
    const first = await fan('a');
    const middle = await this.acts.ping(`${width}:middle`);
    const second = await fan('b');
    return [...first, middle, ...second].filter((answer) => answer.startsWith('pong ')).length;
  }
}
defineWorkflow(WideFan, { name: 'BirthWideFan' });

/** Values a step row binds in an INSERT of steps (one a column of stent_steps that a new step sets). */
const STEP_ROW_VALUES = 27;

/** What LateCaller awaits before its first call: opened by the test. */
let lateGate = new Gate();

/** Awaits something that is not a durable call (the test's gate) before its first activity. */
class LateCaller {
  constructor(private readonly acts: BirthActs) {}
  async run(tag: string): Promise<string> {
    await lateGate.wait();
    return this.acts.ping(tag);
  }
}
defineWorkflow(LateCaller, { name: 'BirthLateCaller' });

class SlowFirst {
  constructor(private readonly acts: BirthActs) {}
  async run(tag: string): Promise<string> {
    bump(runs, tag);
    return this.acts.slow(tag);
  }
}
defineWorkflow(SlowFirst, { name: 'BirthSlowFirst' });

/**
 * The number of elements of an array parameter as the driver is given it: a JavaScript array, or the
 * literal text Stent makes of one (`{"a","b"}`: see postgres-array-literal.ts), whose inside is JSON.
 */
function arrayLength(param: unknown): number | undefined {
  if (Array.isArray(param)) return param.length;
  if (typeof param !== 'string' || !param.startsWith('{') || !param.endsWith('}')) return undefined;
  try {
    const elements: unknown = JSON.parse(`[${param.slice(1, -1)}]`);
    return Array.isArray(elements) ? elements.length : undefined;
  } catch {
    return undefined;
  }
}
describe.each(DIALECTS)('a dispatch inserted with its first step (%s)', (dialect: Dialect) => {
  let set: ExecutorSet | undefined;
  let inspector: Inspector | undefined;
  let executor: StentExecutor;
  /** Another process's view: an executor without a worker. */
  let observer: StentExecutor;

  afterEach(async () => {
    await inspector?.close();
    inspector = undefined;
    await set?.dispose();
    set = undefined;
  });

  /**
   * `local`: the dispatches must take the local path, which a worker declines while a claim round looks
   * for workflows (it may find older ones first): its polls are spaced out of the test's way and the
   * dispatch waits for the start-up round to end. A poll round coinciding with a dispatch sends it through
   * a claim on a loaded machine, which is right, but not what these tests are about.
   */
  async function start(local = false): Promise<void> {
    bodies.clear();
    runs.clear();
    set = await ExecutorSet.create(dialect);
    const acts = new BirthActs();
    const instances = [acts, new OnePing(acts), new LateCaller(acts), new SlowFirst(acts), new WideFan(acts)];
    executor = await set.executor(instances, local ? { ...QUICK_WORKER, pollInterval: '1h', maxPollInterval: '1h' } : QUICK_WORKER);
    observer = await set.executor(instances, false);
    inspector = await openInspector(set.db);
    if (local) {
      const loop = executor.worker!.loop;
      await waitUntil(() => !loop.busy && !loop.hints.workflows && !loop.suspectRunning, 'the start-up claim round to end');
    }
  }

  /**
   * Runs WideFan once at each width, each dispatch on the local path, and checks every body ran once and
   * the tables hold together: returns what the drivers were sent meanwhile.
   */
  async function wideFans(widths: number[]): Promise<Sent[]> {
    await start(true);
    const loop = executor.worker!.loop;
    const sent = await capture(async () => {
      for (const width of widths) {
        await waitUntil(() => !loop.busy && !loop.hints.workflows, 'the claim loop to be idle, so the dispatch takes the local path');
        expect((await executor.waitFor(await executor.dispatch(WideFan, [width]), { timeout: '30s' })).value).toBe(2 * width + 1);
      }
    });
    for (const width of widths) for (const part of ['a', 'b']) for (let i = 0; i < width; i++) expect(bodies.get(`${width}:${part}${i}`)).toBe(1);
    expect(await invariantProblems(inspector!)).toEqual([]);
    return sent;
  }

  it('resolves once the execution and its first step are in the database, and the activity runs here once', async () => {
    await start(true);
    const id = await executor.dispatch(OnePing, ['a']);
    // Read at once through another connection: nothing of it may still be on its way.
    const journal = await observer.getJournal(id);
    expect(journal.map((step) => step.name)).toEqual(['BirthActs.ping']);
    expect((await executor.waitFor(id, { timeout: '10s' })).value).toBe('pong a');
    expect({ body: bodies.get('a'), runs: runs.get('a') }).toEqual({ body: 1, runs: 1 });
    expect(await invariantProblems(inspector!)).toEqual([]);
  });

  it('a workflow that awaits something else before its first call does not hold up its dispatch', async () => {
    await start(true);
    lateGate = new Gate();
    // Resolves while the workflow still waits on the gate: its execution went in on its own.
    const id = await executor.dispatch(LateCaller, ['late']);
    expect(lateGate.entered).toBe(1);
    expect((await observer.getExecution(id)).state).toBe('running');
    expect(await observer.getJournal(id)).toEqual([]);
    lateGate.open();
    expect((await executor.waitFor(id, { timeout: '10s' })).value).toBe('pong late');
  });

  it('the same idempotency key dispatched twice here gives one execution, run once', async () => {
    await start();
    const first = await executor.dispatch(OnePing, ['k'], { idempotencyKey: 'birth-key' });
    const second = await executor.dispatch(OnePing, ['k-again'], { idempotencyKey: 'birth-key' });
    expect(second).toBe(first);
    expect((await executor.waitFor(first, { timeout: '10s' })).value).toBe('pong k');
    expect((await observer.listExecutions({}, { limit: 10 })).total).toBe(1);
    expect(bodies.get('k')).toBe(1);
    expect(bodies.get('k-again')).toBeUndefined();
    expect(await invariantProblems(inspector!)).toEqual([]);
  });

  it('a dispatch of a paused workflow is inserted unclaimed, with no step, and runs once resumed', async () => {
    await start();
    // Paused by another process: this worker may not have read it yet, and the insert finds it paused.
    await observer.pauseWorkflow(OnePing);
    const id = await executor.dispatch(OnePing, ['paused']);
    const row = await observer.getExecution(id);
    expect({ state: row.state, leaseOwner: row.leaseOwner }).toEqual({ state: 'pending', leaseOwner: null });
    expect(await observer.getJournal(id)).toEqual([]);
    // Its run, which wrote nothing, is dropped quietly: no warning, no lease to hand back.
    expect(set!.logger.lines.filter((line) => line.level !== 'log' && line.message.includes(id))).toEqual([]);
    await observer.resumeWorkflow(OnePing);
    expect((await executor.waitFor(id, { timeout: '10s' })).value).toBe('pong paused');
    expect(bodies.get('paused')).toBe(1);
  });

  if (dialect === 'sqlite') {
    it('a wide fan-out goes in by statements of a few rows each, at the birth and later in the run', async () => {
      const widths = [40, 300];
      const sent = await wideFans(widths);
      // A step row binds one value a column (27); a fenced insert adds the fence's few.
      const rowsOf = (statement: { params: unknown[] }) => Math.floor(statement.params.length / STEP_ROW_VALUES);
      const inserts = sent.filter((statement) => /^\s*INSERT INTO \S*stent_steps/.test(statement.sql));
      expect(inserts.reduce((rows, statement) => rows + rowsOf(statement), 0)).toBe(widths.reduce((rows, width) => rows + 2 * width + 1, 0));
      // At most 32 rows a statement: short texts the client keeps prepared, where one statement of 300 rows was prepared at each send.
      expect(Math.max(...inserts.map(rowsOf))).toBeLessThanOrEqual(32);
    });
  }

  if (dialect === 'postgres') {
    it('one statement inserts the execution and its first step, one more ends it: two commits a one-activity dispatch', async () => {
      await start(true);
      for (let i = 0; i < 3; i++) await executor.waitFor(await executor.dispatch(OnePing, [`warm${i}`]), { timeout: '10s' });
      let id = '';
      const sent = await capture(async () => {
        id = await executor.dispatch(OnePing, ['counted']);
        await executor.waitFor(id, { timeout: '10s' });
      });
      // The statements that name this execution (claim polls name none; a lease renewal, should the
      // heartbeat fall in this window, is not a write of the dispatch's path).
      const about = sent
        .filter((statement) => statement.params.some((param) => param === id || (Array.isArray(param) && param.includes(id))))
        .map((statement) => statement.sql.replace(/\s+/g, ' ').trim())
        .filter((sql) => !/^UPDATE \S+ SET lease_expires_at/.test(sql));
      expect(about.map((sql) => sql.slice(0, 80))).toHaveLength(2);
      expect(about[0]).toMatch(/^WITH ex AS \(INSERT INTO \S+stent_executions/);
      expect(about[0]).toMatch(/INSERT INTO \S+stent_steps/);
    });

    it('a wide fan-out goes in by one statement text whatever its width, binding a parameter a column, at the birth and later in the run', async () => {
      const widths = [40, 300];
      const sent = await wideFans(widths);
      const inserts = sent.filter((statement) => /INSERT INTO \S+stent_steps/.test(statement.sql));
      const births = inserts.filter((statement) => /^\s*WITH ex AS \(INSERT INTO \S+stent_executions/.test(statement.sql));
      // The second fan-out, written with the result before it: its rows as arrays of one element a call.
      const later = inserts.filter((statement) => !births.includes(statement) && statement.params.some((param) => widths.includes(arrayLength(param) ?? -1)));
      expect(births).toHaveLength(2);
      expect(later).toHaveLength(2);
      for (const [what, pair] of [['birth', births], ['later fan-out', later]] as const) {
        expect(pair[0]!.sql, `${what}: the same text for ${widths.join(' and ')} calls`).toBe(pair[1]!.sql);
      }
      // A parameter a column (and a few more), where a row of parameters a call bound 27 for each of them.
      for (const statement of inserts) expect(statement.params.length, statement.sql.slice(0, 80)).toBeLessThan(200);
    });

    it('a first step the database refuses fails the execution, not its dispatch', async () => {
      await start();
      const id = await executor.dispatch(SlowFirst, ['refused']);
      const result = await executor.waitFor(id, { timeout: '10s' });
      expect(result.state).toBe('failed');
      expect(result.error).toBeInstanceOf(UnstorableValueError);
      expect(runs.get('refused')).toBe(1);
      expect(bodies.get('slow:refused')).toBeUndefined();
    });
  }
});
