/**
 * Stent workers in processes of their own, for the tests that kill, freeze or replace them: each runs
 * worker-main.ts with one fixture module, and the test waits for its "ready" line before going on.
 * Every process is a TestProcess, so killAllProcesses() in afterEach stops them all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestProcess, type StartOptions } from './child-process.js';
import { testProgram } from './test-programs.js';
import type { WorkerProcessConfig } from './worker-main.js';

export type { WorkerProcessConfig } from './worker-main.js';
export { killAllProcesses } from './child-process.js';

const WORKER_MAIN = testProgram('support/worker-main.js');

export interface WorkerSpawn extends WorkerProcessConfig {
  /** Where fixture activity bodies write their evidence (STENT_TEST_EVIDENCE_DIR). */
  evidenceDir?: string;
  /** How long to wait for the "ready" line (default 90 s). */
  readyTimeoutMs?: number;
  /** Extra environment for the process (e.g. libfaketime's LD_PRELOAD and FAKETIME to skew its clock). */
  env?: Record<string, string>;
}

/** A worker process: started, and ready (its worker takes work) once start() resolves. */
export class WorkerProcess extends TestProcess {
  /** The first JSON line it printed: { ready, pid, owner }. */
  ready: Record<string, unknown> = {};

  private constructor(readonly spec: WorkerSpawn) {
    super(WORKER_MAIN, WorkerProcess.startOptions(spec));
  }

  private static startOptions({ evidenceDir, readyTimeoutMs, env, ...config }: WorkerSpawn): StartOptions {
    void readyTimeoutMs;
    return {
      label: `worker process (${config.fixture}${config.role ? `, ${config.role}` : ''})`,
      env: { ...env, STENT_TEST_WORKER: JSON.stringify(config), ...(evidenceDir ? { STENT_TEST_EVIDENCE_DIR: evidenceDir } : {}) },
    };
  }

  /** Starts a worker process and waits for its "ready" line (it fails at once if the process dies first). */
  static async start(spec: WorkerSpawn): Promise<WorkerProcess> {
    const worker = new WorkerProcess(spec);
    try {
      // Eight workers loading Nest, TypeORM and the engine at once on a loaded 2-core machine take a while.
      worker.ready = await worker.waitForReady(spec.readyTimeoutMs ?? 90_000);
    } catch (error) {
      await worker.kill();
      throw error;
    }
    return worker;
  }

  /** The ids it printed after dispatching (config.dispatch). */
  async dispatchedIds(timeoutMs = 30_000): Promise<string[]> {
    return (await this.waitForJson((line) => Array.isArray(line.ids), 'the dispatched ids', timeoutMs)).ids as string[];
  }
}

/** Keeps `size` workers running: any that dies is replaced (the poison test's workers kill themselves). */
export class WorkerSupervisor {
  readonly workers: WorkerProcess[] = [];
  deaths = 0;
  private stopped = false;
  private spawning: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly spec: WorkerSpawn,
    private readonly size: number,
  ) {}

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, () => this.spawnOne()));
  }

  private async spawnOne(): Promise<void> {
    if (this.stopped) return;
    const worker = await WorkerProcess.start(this.spec);
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

/** A temporary directory for evidence files, removed by dispose(). */
export function makeEvidenceDir(prefix = 'stent-evidence-'): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
