import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from './cleanup.js';
import { WORKER_CONFIG_ENV, type WorkerConfig, type WorkerMessage, type WorkerRequest, type WorkerSnapshot } from './worker-protocol.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.js', import.meta.url));

/** Parent-side handle of one benchmark worker process (bench/worker-process.ts). */
export class WorkerProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(snapshot: WorkerSnapshot): void; reject(error: Error): void }>();
  private exited = false;
  readonly exitedPromise: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    trackChild(child);
    this.exitedPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        for (const { reject } of this.pending.values()) reject(new Error(`worker process ${child.pid} exited (code ${code}, signal ${signal})`));
        this.pending.clear();
        resolve();
      });
    });
    child.on('message', (message: WorkerMessage) => {
      if (message.type !== 'reply' && message.type !== 'error') return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'reply') waiter.resolve(message.snapshot);
      else waiter.reject(new Error(`worker process ${child.pid}: ${message.message}`));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Forks a worker process and resolves once its Stent worker is running. */
  static async start(config: WorkerConfig, readyTimeoutMs = 60_000): Promise<WorkerProcess> {
    const child = fork(WORKER_SCRIPT, [], {
      env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(config) },
      execArgv: ['--expose-gc', ...(config.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${config.profileDir}`, '--cpu-prof-interval=100'] : [])],
      // The child's stdout goes to our stderr: stdout carries only result lines.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    const handle = new WorkerProcess(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`worker process ${child.pid} not ready after ${readyTimeoutMs} ms`)), readyTimeoutMs);
      const onMessage = (message: WorkerMessage): void => {
        if (message.type === 'ready') done();
        else if (message.type === 'failed') fail(new Error(`worker process ${child.pid} failed to start: ${message.message}`));
      };
      const onExit = (code: number | null, signal: string | null): void => fail(new Error(`worker process ${child.pid} exited during start-up (code ${code}, signal ${signal})`));
      const onError = (error: Error): void => fail(error);
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      function done(): void {
        cleanup();
        resolve();
      }
      function fail(error: Error): void {
        cleanup();
        handle.kill();
        reject(error);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.once('error', onError);
    });
    return handle;
  }

  private request(type: WorkerRequest['type'], extra: Partial<WorkerRequest> = {}, timeoutMs = 30_000): Promise<WorkerSnapshot> {
    if (this.exited || !this.child.connected) return Promise.reject(new Error(`worker process ${this.pid} is not running`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`worker process ${this.pid}: no answer to '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (snapshot) => {
          clearTimeout(timer);
          resolve(snapshot);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ ...extra, id, type } as WorkerRequest);
    });
  }

  /** Memory and worker statistics; with `gc`, after a full garbage collection in the child. */
  stats(gc = false): Promise<WorkerSnapshot> {
    return this.request('stats', { gc });
  }

  /** Asks the worker to drain and exit; kills it if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<WorkerSnapshot | undefined> {
    if (this.exited) return undefined;
    let snapshot: WorkerSnapshot | undefined;
    try {
      snapshot = await this.request('stop', {}, timeoutMs);
    } catch (error) {
      process.stderr.write(`[bench] ${String(error)}; killing it\n`);
    }
    await Promise.race([this.exitedPromise, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    this.kill();
    return snapshot;
  }

  kill(): void {
    if (!this.exited && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Starts `count` worker processes; if one fails, the ones already started are killed. */
export async function startWorkers(count: number, config: WorkerConfig): Promise<WorkerProcess[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, () => WorkerProcess.start(config)));
  const started = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) {
    for (const worker of started) worker.kill();
    throw failure.reason;
  }
  return started;
}

export async function stopWorkers(workers: WorkerProcess[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.stop()));
}
