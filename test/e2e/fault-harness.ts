/**
 * Support for the cross-process fault tests: real worker processes (test/fixtures/fault-worker.ts) on a
 * real database, evidence recorded by activity bodies outside the engine, and direct SQL to inspect
 * what the engine left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createStentStore, decode, StentExecutor, type WorkerOptions } from 'nestjs-stent';
import type { TestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import type { RunRecord } from '../fixtures/fault-flows.js';

export { preciseNow, type RunRecord } from '../fixtures/fault-flows.js';

const WORKER_SCRIPT = fileURLToPath(new URL('../fixtures/fault-worker.js', import.meta.url));

// ---- worker processes ---------------------------------------------------------------------------

const live = new Set<WorkerProcess>();

export interface SpawnOptions {
  url: string;
  counterDir: string;
  worker: WorkerOptions;
  poolSize?: number;
  /** How long to wait for the "ready" line. */
  readyTimeoutMs?: number;
  /** Extra environment for the process (e.g. libfaketime's LD_PRELOAD and FAKETIME to skew its clock). */
  env?: Record<string, string>;
}

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderrTail = '';
  private stdoutBuffer = '';
  private readyResolve!: () => void;
  private readyReject!: (error: Error) => void;
  readonly ready: Promise<void>;

  private constructor(readonly options: SpawnOptions) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.ready.catch(() => undefined);
    this.child = spawn(process.execPath, [WORKER_SCRIPT], {
      env: {
        ...process.env,
        ...options.env,
        FAULT_COUNTER_DIR: options.counterDir,
        FAULT_WORKER_CONFIG: JSON.stringify({ url: options.url, worker: options.worker, poolSize: options.poolSize }),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error('could not spawn the fault worker');
    this.pid = this.child.pid;
    live.add(this);
    this.child.stdin!.on('error', () => undefined);
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdoutBuffer += chunk;
      let newline: number;
      while ((newline = this.stdoutBuffer.indexOf('\n')) >= 0) {
        const line = this.stdoutBuffer.slice(0, newline);
        this.stdoutBuffer = this.stdoutBuffer.slice(newline + 1);
        if (line.includes('"ready":true')) this.readyResolve();
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-20_000);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        this.readyReject(new Error(`worker ${this.pid} exited before it was ready (code ${code}, signal ${signal}): ${this.stderrTail.slice(-2000)}`));
        resolve(this.exitInfo);
      });
    });
  }

  /** Starts a worker process and waits until it claims work. */
  static async start(options: SpawnOptions): Promise<WorkerProcess> {
    const worker = new WorkerProcess(options);
    const timeout = options.readyTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        worker.ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`worker ${worker.pid} not ready after ${timeout} ms: ${worker.stderr.slice(-2000)}`)), timeout);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return worker;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGKILL and wait until the process is gone. */
  async kill(): Promise<void> {
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.exited;
  }

  /** Graceful stop: SIGTERM (the worker drains) and wait for the exit. */
  async terminate(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`worker ${this.pid} did not exit within ${timeoutMs} ms of SIGTERM: ${this.stderr.slice(-2000)}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Kills every worker process still running (afterEach / afterAll, also on failure). */
export async function killAllWorkers(): Promise<void> {
  await Promise.all(
    [...live].map(async (worker) => {
      worker.signal('SIGCONT');
      worker.signal('SIGKILL');
      await Promise.race([worker.exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    }),
  );
}

process.on('exit', () => {
  for (const worker of live) {
    try {
      process.kill(worker.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/**
 * Keeps `size` workers running: any that dies is replaced (the poison test's workers kill themselves).
 */
export class WorkerSupervisor {
  readonly workers: WorkerProcess[] = [];
  deaths = 0;
  private stopped = false;
  private spawning: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: SpawnOptions,
    private readonly size: number,
  ) {}

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, () => this.spawnOne()));
  }

  private async spawnOne(): Promise<void> {
    if (this.stopped) return;
    const worker = await WorkerProcess.start(this.options);
    this.workers.push(worker);
    void worker.exited.then(() => {
      if (this.stopped) return;
      this.deaths++;
      this.spawning = this.spawning.then(() => this.spawnOne()).catch(() => undefined);
    });
  }

  get alive(): WorkerProcess[] {
    return this.workers.filter((w) => w.alive);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.spawning;
    await Promise.all(this.workers.map((w) => w.kill()));
  }
}

// ---- evidence written by activity bodies --------------------------------------------------------

export function makeCounterDir(): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'stent-fault-counters-'));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every record in the directory (a line cut by a kill, if any, is skipped). */
export function readRecords(dir: string): RunRecord[] {
  const out: RunRecord[] = [];
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.jsonl')) continue;
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as RunRecord);
      } catch {
        // partial line
      }
    }
  }
  return out;
}

/** One run of an activity body: its start record and, if the body finished, its end time. */
export interface Run {
  run: string;
  pid: number;
  act: string;
  executionId: string;
  position: number;
  attempt: number;
  start: number;
  end?: number;
}

export function runsOf(records: RunRecord[]): Run[] {
  const runs = new Map<string, Run>();
  for (const r of records) {
    let run = runs.get(r.run);
    if (!run) {
      run = { run: r.run, pid: r.pid, act: r.act, executionId: r.executionId, position: r.position, attempt: r.attempt, start: NaN };
      runs.set(r.run, run);
    }
    if (r.ev === 'start') run.start = r.t;
    else run.end = r.t;
  }
  return [...runs.values()];
}

export const stepKey = (executionId: string, position: number) => `${executionId}#${position}`;

export function runsByStep(runs: Run[]): Map<string, Run[]> {
  const map = new Map<string, Run[]>();
  for (const run of runs) {
    const key = stepKey(run.executionId, run.position);
    const list = map.get(key) ?? [];
    list.push(run);
    map.set(key, list);
  }
  for (const list of map.values()) list.sort((a, b) => a.start - b.start);
  return map;
}

export interface RecordedStep {
  executionId: string;
  position: number;
  /** The run id the journal recorded as the step's result. */
  recordedRun: string;
}

/**
 * The exactly-once invariants, checked against the evidence:
 *  - the journal's recorded result is the id of a run whose body really finished;
 *  - a step whose completion was committed never starts again: the recorded run is the LAST run of that
 *    step to start (any other run started before it, i.e. it was cut before its result was recorded);
 *  - every run that was not recorded happened in a process that was killed or frozen (`interrupted`),
 *    never in a healthy worker.
 * Returns human-readable problems (empty when all hold).
 */
export function exactlyOnceProblems(steps: RecordedStep[], runs: Run[], interrupted: Set<number>): string[] {
  const problems: string[] = [];
  const byStep = runsByStep(runs);
  for (const step of steps) {
    const key = stepKey(step.executionId, step.position);
    const list = byStep.get(key) ?? [];
    const recorded = list.find((r) => r.run === step.recordedRun);
    if (!recorded) {
      problems.push(`${key}: the journal recorded run ${step.recordedRun}, but no body run has that id (runs: ${list.map((r) => r.run).join(', ') || 'none'})`);
      continue;
    }
    if (recorded.end === undefined) problems.push(`${key}: the recorded run ${recorded.run} never finished its body`);
    for (const other of list) {
      if (other === recorded) continue;
      if (other.start >= recorded.start) {
        problems.push(
          `${key}: run ${other.run} (pid ${other.pid}) started ${(other.start - recorded.start).toFixed(1)} ms after the recorded run ${recorded.run} (pid ${recorded.pid}) - a completed activity ran again`,
        );
      }
      if (!interrupted.has(other.pid)) {
        problems.push(`${key}: run ${other.run} in healthy worker ${other.pid} was not recorded and the step ran again (recorded: ${recorded.run})`);
      }
    }
  }
  return problems;
}

/** Highest number of intervals open at one instant (an interval ending at t closes before one starting at t). */
export function maxOverlap(intervals: Array<{ start: number; end: number }>): { max: number; at: number } {
  const events: Array<[number, number]> = [];
  for (const { start, end } of intervals) {
    events.push([start, 1], [end, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let max = 0;
  let at = NaN;
  for (const [t, delta] of events) {
    current += delta;
    if (current > max) {
      max = current;
      at = t;
    }
  }
  return { max, at };
}

// ---- looking into the database ------------------------------------------------------------------

export interface Inspector {
  readonly dialect: 'sqlite' | 'postgres';
  /** Table names: steps, executions, deadLetters. */
  readonly t: { steps: string; executions: string; deadLetters: string };
  /** Runs a statement written with `?` placeholders. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The first column of the first row as a number. */
  scalar(sql: string, params?: unknown[]): Promise<number>;
  /** True if some other connection holds a write transaction open right now (a frozen worker would block everyone). */
  writeLockHeld(): Promise<boolean>;
  close(): Promise<void>;
}

export async function openInspector(db: TestDatabase): Promise<Inspector> {
  if (db.dialect === 'sqlite') {
    const file = (db.options as { database: string }).database;
    const conn = new Database(file);
    conn.pragma('busy_timeout = 5000');
    const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
      const statement = conn.prepare(sql);
      if (statement.reader) return statement.all(...params) as T[];
      statement.run(...params);
      return [];
    };
    return {
      dialect: 'sqlite',
      t: { steps: 'stent_steps', executions: 'stent_executions', deadLetters: 'stent_dead_letters' },
      query,
      scalar: async (sql, params) => Number(Object.values((await query<Record<string, unknown>>(sql, params))[0] ?? { v: NaN })[0]),
      writeLockHeld: async () => {
        conn.pragma('busy_timeout = 0');
        try {
          conn.prepare('BEGIN IMMEDIATE').run();
          conn.prepare('ROLLBACK').run();
          return false;
        } catch (error) {
          if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) return true;
          throw error;
        } finally {
          conn.pragma('busy_timeout = 5000');
        }
      },
      close: async () => {
        conn.close();
      },
    };
  }
  const schema = db.schema!;
  const client = new pg.Client({ connectionString: (db.options as { url: string }).url });
  await client.connect();
  const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    let index = 0;
    const text = sql.replace(/\?/g, () => `$${++index}`);
    return (await client.query(text, params)).rows as T[];
  };
  return {
    dialect: 'postgres',
    t: { steps: `"${schema}"."stent_steps"`, executions: `"${schema}"."stent_executions"`, deadLetters: `"${schema}"."stent_dead_letters"` },
    query,
    scalar: async (sql, params) => Number(Object.values((await query<Record<string, unknown>>(sql, params))[0] ?? { v: NaN })[0]),
    writeLockHeld: async () => {
      // Any other backend of this test's schema inside an open transaction (or mid-statement).
      const rows = await query<{ n: string }>(
        `SELECT COUNT(*) AS n FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND datname = current_database() AND query LIKE ? AND (state LIKE 'idle in transaction%' OR state = 'active')`,
        [`%"${schema}"%`],
      );
      return Number(rows[0]?.n ?? 0) > 0;
    },
    close: async () => {
      await client.end();
    },
  };
}

/**
 * SIGSTOPs a worker at a moment it holds no database transaction open (a process frozen inside a
 * transaction would hold its row locks or SQLite's write lock, which no lease can take back).
 */
export async function freezeOutsideTransaction(worker: WorkerProcess, inspector: Inspector): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    worker.signal('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 30));
    if (!(await inspector.writeLockHeld())) return;
    worker.signal('SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 40));
  }
  throw new Error(`could not freeze worker ${worker.pid} outside a database transaction`);
}

/** A dispatch-only executor in the test process. */
export async function openClient(db: TestDatabase): Promise<StentExecutor> {
  const store = await createStentStore({ database: db.options });
  const executor = new StentExecutor({ store, worker: false });
  await executor.start();
  return executor;
}

/** The recorded result of every activity step of the given executions (straight from the steps table). */
export async function recordedSteps(inspector: Inspector, executionIds?: string[]): Promise<Array<RecordedStep & { state: string; attempts: number }>> {
  const rows = await inspector.query<{ execution_id: string; position: unknown; state: string; result: string | null; attempts: unknown }>(
    `SELECT execution_id, position, state, result, attempts FROM ${inspector.t.steps} WHERE kind = 'activity'`,
  );
  const wanted = executionIds ? new Set(executionIds) : undefined;
  return rows
    .filter((row) => !wanted || wanted.has(row.execution_id))
    .map((row) => ({
      executionId: row.execution_id,
      position: Number(row.position),
      state: row.state,
      attempts: Number(row.attempts),
      recordedRun: row.state === 'completed' && row.result !== null ? String(decode(row.result)) : '',
    }));
}

/** Dispatches in parallel batches (keeps the pool small). */
export async function dispatchMany<T>(count: number, dispatchOne: (i: number) => Promise<T>, batch = 25): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += batch) {
    const ids = await Promise.all(Array.from({ length: Math.min(batch, count - start) }, (_, k) => dispatchOne(start + k)));
    out.push(...ids);
  }
  return out;
}

/** Waits until every execution is completed; fails early (with details) if one ends in another final state. */
export async function waitAllCompleted(inspector: Inspector, total: number, timeoutMs: number, what: string): Promise<void> {
  let counts: Record<string, number> = {};
  let fatal = false;
  try {
    await waitUntil(
      async () => {
        const rows = await inspector.query<{ state: string; n: unknown }>(`SELECT state, COUNT(*) AS n FROM ${inspector.t.executions} GROUP BY state`);
        counts = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
        fatal = Object.keys(counts).some((state) => !['pending', 'running', 'completed'].includes(state));
        return fatal || (counts.completed ?? 0) === total;
      },
      what,
      timeoutMs,
      100,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; execution states: ${JSON.stringify(counts)}`);
  }
  if (fatal) throw new Error(`${what}: executions ended in ${JSON.stringify(counts)}`);
}

// ---- one test's environment ---------------------------------------------------------------------

export interface FaultEnv {
  db: TestDatabase;
  counterDir: string;
  /** Dispatch-only executor in the test process. */
  client: StentExecutor;
  inspector: Inspector;
  spec(worker: WorkerOptions, extra?: Partial<SpawnOptions>): SpawnOptions;
  startWorker(worker: WorkerOptions): Promise<WorkerProcess>;
  runs(): Run[];
  dispose(): Promise<void>;
}

export async function openFaultEnv(db: TestDatabase): Promise<FaultEnv> {
  const counters = makeCounterDir();
  let client: StentExecutor | undefined;
  let inspector: Inspector | undefined;
  const dispose = async () => {
    await killAllWorkers();
    await client?.close(0).catch(() => undefined);
    await inspector?.close().catch(() => undefined);
    await db.dispose().catch(() => undefined);
    counters.dispose();
  };
  try {
    client = await openClient(db);
    inspector = await openInspector(db);
  } catch (error) {
    await dispose();
    throw error;
  }
  const spec = (worker: WorkerOptions, extra: Partial<SpawnOptions> = {}): SpawnOptions => ({ url: db.url, counterDir: counters.dir, worker, ...extra });
  return {
    db,
    counterDir: counters.dir,
    client,
    inspector,
    spec,
    startWorker: (worker) => WorkerProcess.start(spec(worker)),
    runs: () => runsOf(readRecords(counters.dir)),
    dispose,
  };
}
