/**
 * Support for the sample tests: each test runs a built sample (dist/sample/<name>/main.js) in a real
 * child process on its own SQLite file, reads what it printed and the activity trace it wrote
 * (SAMPLE_TRACE_FILE), and, for the crash tests, SIGKILLs it and starts it again on the same file.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createStentStore, StentExecutor, type JournalEntry } from 'nestjs-stent';
import { TestProcess } from '../support/child-process.js';

export { killAllProcesses } from '../support/child-process.js';

const execFileAsync = promisify(execFile);

export function sampleMain(name: string): string {
  return fileURLToPath(new URL(`../../sample/${name}/main.js`, import.meta.url));
}

/** The environment of a sample run in `dir`: its database, its trace file, a lease short enough for a quick takeover. */
export function sampleEnv(dir: string, database: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, STENT_DATABASE: join(dir, database), SAMPLE_TRACE_FILE: join(dir, `${database}.trace`), STENT_LEASE: '3s', ...extra };
}

/** Runs a sample to its end; rejects (with its output) if it exits with an error. */
export async function runSample(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [sampleMain(name), ...args], { env, timeout: 90_000 });
}

/** The Result a sample printed after "execution <id> finished: <state>". */
export function printedOutcome(stdout: string): { executionId: string; state: string; ok: boolean; value?: any; error?: any } {
  const finished = /execution (\S+) finished: (\S+)/.exec(stdout);
  if (!finished) throw new Error(`no "finished" line in:\n${stdout}`);
  const json = stdout.slice(stdout.indexOf('{', finished.index));
  return { executionId: finished[1], state: finished[2], ...JSON.parse(json) };
}

export interface TraceLine {
  pid: number;
  /** When the line was written (epoch ms). */
  at: number;
  executionId: string;
  attempt: number;
  line: string;
}

/** Every activity body line the sample processes recorded in `env.SAMPLE_TRACE_FILE`, in order. */
export function readTrace(env: NodeJS.ProcessEnv): TraceLine[] {
  const file = env.SAMPLE_TRACE_FILE!;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TraceLine);
}

/** The trace split at a restart: the lines of the first process that wrote any, and those of the processes after it. */
export function traceAcrossRestart(env: NodeJS.ProcessEnv): { before: TraceLine[]; after: TraceLine[] } {
  const trace = readTrace(env);
  const firstPid = trace[0]?.pid;
  return { before: trace.filter((entry) => entry.pid === firstPid), after: trace.filter((entry) => entry.pid !== firstPid) };
}

/** The journal of an execution, read through an API-only executor (no worker) on the sample's file. */
export async function readJournal(env: NodeJS.ProcessEnv, executionId: string): Promise<JournalEntry[]> {
  const executor = new StentExecutor({ store: await createStentStore({ database: { type: 'better-sqlite3', database: env.STENT_DATABASE! } }), worker: false });
  try {
    return await executor.getJournal(executionId);
  } finally {
    await executor.close();
  }
}

/** A sample started in the background, to be watched and killed (stopped by killAllProcesses in afterEach). */
export class SampleProcess extends TestProcess {
  constructor(name: string, args: string[], env: NodeJS.ProcessEnv) {
    super(sampleMain(name), { args, env, stdin: 'ignore', label: `sample ${name}` });
  }
}
