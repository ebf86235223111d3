/**
 * The program every process-spawning test runs (see worker-process.ts): a Stent executor in a process of
 * its own, registering the instances of one fixture module.
 *
 * STENT_TEST_WORKER holds its configuration as JSON (WorkerProcessConfig). STENT_TEST_EVIDENCE_DIR is
 * where fixture activity bodies write what they did, outside the engine. It prints one JSON line
 * `{"ready":true,"pid":...,"owner":...}` once its worker takes work, then `{"ids":[...]}` if it was asked
 * to dispatch. SIGTERM drains and exits 0. It exits on its own when its parent goes away (stdin closes),
 * so a crashed test run leaves no process behind.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
// The engine and the store only, not the package's entry point: that one loads Nest too, which these
// processes never use and which would double the CPU each of the many worker starts in the suite costs.
import { StentExecutor, type DispatchOptions, type WorkerOptions } from '#stent-engine';
import { createStentStore, databaseFromUrl } from '#stent-store';
import { withApplicationName, workerApplicationName } from './backend-names.js';

export interface WorkerProcessConfig {
  /** SQLite file or PostgreSQL URL (TestDatabase.url). */
  url: string;
  /** false: an API-only executor (dispatches, runs nothing). */
  worker: WorkerOptions | false;
  /** PostgreSQL pool size (default 3). */
  poolSize?: number;
  /** Fixture module in test/fixtures, e.g. 'fault-flows.js'. */
  fixture: string;
  /** The module's exported function that returns the instances to register. */
  instances: string;
  /** Passed to that function (which part of the fixture this process runs). */
  role?: string;
  /** Executions to dispatch once started: workflow is the name of a class the module exports. */
  dispatch?: Array<{ workflow: string; args: unknown[]; options?: DispatchOptions }>;
  /** SIGKILL itself right after printing the dispatched ids (a dispatcher that dies). */
  dieAfterDispatch?: boolean;
  /**
   * Append the engine's lifecycle events, one JSON line each, to <evidence dir>/<pid>.trace, for diagnosing
   * a failed run (also turned on for every worker process by STENT_TEST_TRACE=1).
   */
  trace?: boolean;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.STENT_TEST_WORKER ?? '{}') as WorkerProcessConfig;
  if (!config.url || !config.fixture || !config.instances) throw new Error('STENT_TEST_WORKER needs url, fixture and instances');
  const fixture = (await import(new URL(`../fixtures/${config.fixture}`, import.meta.url).href)) as Record<string, unknown>;
  const factory = fixture[config.instances] as ((role?: string) => object[]) | undefined;
  if (typeof factory !== 'function') throw new Error(`${config.fixture} exports no function ${config.instances}`);

  const database = databaseFromUrl(config.url);
  if (database.type === 'postgres') {
    database.poolSize = config.poolSize ?? 3;
    // Named for this process: a test can tell whether it is inside a transaction (freezeOutsideTransaction).
    database.url = withApplicationName(database.url!, workerApplicationName(process.pid));
  }
  const store = await createStentStore({ database });
  const executor = new StentExecutor({
    store,
    worker: config.worker,
    // Routine lines would only fill the pipe; warnings and errors explain a failed test (stderr tail).
    logger: {
      log: () => undefined,
      warn: (message: string, ...context: unknown[]) => process.stderr.write(`warn ${message}${describe(context)}\n`),
      error: (message: string, ...context: unknown[]) => process.stderr.write(`error ${message}${describe(context)}\n`),
    },
  });
  executor.register(...factory(config.role));
  const evidenceDir = process.env.STENT_TEST_EVIDENCE_DIR;
  if ((config.trace ?? Boolean(process.env.STENT_TEST_TRACE)) && evidenceDir) {
    const file = join(evidenceDir, `${process.pid}.trace`);
    for (const name of ['execution.started', 'execution.finished', 'execution.suspended', 'step.started', 'step.completed', 'step.failed'] as const) {
      executor.events.on(name, (event: object) => appendFileSync(file, JSON.stringify({ t: Date.now(), ev: name, ...event }) + '\n'));
    }
  }
  await executor.start();

  let closing = false;
  const shutdown = async (code: number) => {
    if (closing) return;
    closing = true;
    try {
      await executor.close('10s');
    } catch (error) {
      process.stderr.write(`worker-main: close failed: ${String(error)}\n`);
      code = code || 1;
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown(0));
  process.stdin.on('end', () => process.exit(2));
  process.stdin.on('error', () => process.exit(2));
  process.stdin.resume();

  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, owner: executor.worker?.ownerId ?? null }) + '\n');

  if (config.dispatch) {
    const ids = await Promise.all(
      config.dispatch.map((d) => {
        const workflow = fixture[d.workflow];
        if (typeof workflow !== 'function') throw new Error(`${config.fixture} exports no workflow ${d.workflow}`);
        return executor.dispatch(workflow as never, d.args as never, d.options ?? {});
      }),
    );
    process.stdout.write(JSON.stringify({ ids }) + '\n');
    if (config.dieAfterDispatch) process.kill(process.pid, 'SIGKILL');
  }
}

main().catch((error) => {
  process.stderr.write(`worker-main: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

/** A log line's context as text: errors by their message (what a test reads in stderr), the rest as JSON. */
function describe(context: unknown[]): string {
  return context.map((item) => ` ${item instanceof Error ? `${item.name}: ${item.message}` : JSON.stringify(item)}`).join('');
}
