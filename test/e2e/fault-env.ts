/**
 * The cross-process fault tests' environment: a database, worker processes running the fault fixture
 * (test/fixtures/fault-flows.ts) through the shared harness (test/support/worker-process.ts), a
 * dispatch-only client, an inspector, and the evidence activity bodies record outside the engine.
 */
import { decode, StentExecutor, type WorkerOptions } from 'nestjs-stent/internal';
import type { TestDatabase } from '../support/databases.js';
import { openClient } from '../support/executor-set.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { jsonlRecords } from '../support/process-bench.js';
import { waitUntil } from '../support/wait.js';
import { killAllProcesses, makeEvidenceDir, WorkerProcess, type WorkerSpawn } from '../support/worker-process.js';
import type { RunRecord } from '../fixtures/fault-flows.js';
import { explained } from './fault-report.js';

export { preciseNow, type RunRecord } from '../fixtures/fault-flows.js';
export { freezeOutsideTransaction, type Inspector } from '../support/inspector.js';
export { killAllProcesses, WorkerProcess, WorkerSupervisor } from '../support/worker-process.js';

/** A worker process running the fault fixture. */
export function faultWorker(url: string, evidenceDir: string, worker: WorkerOptions, extra: Partial<WorkerSpawn> = {}): WorkerSpawn {
  return { url, evidenceDir, worker, fixture: 'fault-flows.js', instances: 'faultInstances', ...extra };
}

// ---- evidence written by activity bodies --------------------------------------------------------

/** Every record in the directory (a line cut by a kill, if any, is skipped). */
export const readRecords = (dir: string): RunRecord[] => jsonlRecords<RunRecord>(dir, '.jsonl');

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
  /** start and end on the machine's monotonic clock (RunRecord.m): compare these across processes. */
  startM: number;
  endM?: number;
  /** start on the engine's clock (RunRecord.w, Date.now()): what due times and lease expiries compare with. */
  startWall: number;
}

export function runsOf(records: RunRecord[]): Run[] {
  const runs = new Map<string, Run>();
  for (const r of records) {
    let run = runs.get(r.run);
    if (!run) {
      run = { run: r.run, pid: r.pid, act: r.act, executionId: r.executionId, position: r.position, attempt: r.attempt, start: NaN, startM: NaN, startWall: NaN };
      runs.set(r.run, run);
    }
    if (r.ev === 'start') {
      run.start = r.t;
      run.startM = r.m;
      run.startWall = r.w;
    } else {
      run.end = r.t;
      run.endM = r.m;
    }
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
  evidenceDir: string;
  /** Dispatch-only executor in the test process. */
  client: StentExecutor;
  inspector: Inspector;
  spec(worker: WorkerOptions, extra?: Partial<WorkerSpawn>): WorkerSpawn;
  startWorker(worker: WorkerOptions, extra?: Partial<WorkerSpawn>): Promise<WorkerProcess>;
  runs(): Run[];
  /** `wait`, whose failure message ends with the state of these executions and workers (fault-report.ts). */
  explain<T>(wait: Promise<T>, executionIds: string[], workers: WorkerProcess[]): Promise<T>;
  dispose(): Promise<void>;
}

export async function openFaultEnv(db: TestDatabase): Promise<FaultEnv> {
  const evidence = makeEvidenceDir('stent-fault-evidence-');
  let client: StentExecutor | undefined;
  let inspector: Inspector | undefined;
  const dispose = async () => {
    await killAllProcesses();
    await client?.close(0).catch(() => undefined);
    await inspector?.close().catch(() => undefined);
    await db.dispose().catch(() => undefined);
    evidence.dispose();
  };
  try {
    client = await openClient(db);
    inspector = await openInspector(db);
  } catch (error) {
    await dispose();
    throw error;
  }
  const spec = (worker: WorkerOptions, extra: Partial<WorkerSpawn> = {}): WorkerSpawn => faultWorker(db.url, evidence.dir, worker, extra);
  const runs = () => runsOf(readRecords(evidence.dir));
  return {
    db,
    evidenceDir: evidence.dir,
    client,
    inspector,
    spec,
    startWorker: (worker, extra) => WorkerProcess.start(spec(worker, extra)),
    runs,
    explain: (wait, executionIds, workers) => explained(wait, { inspector: inspector!, schema: db.schema, evidenceDir: evidence.dir, runs }, executionIds, workers),
    dispose,
  };
}
