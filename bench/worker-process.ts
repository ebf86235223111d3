/**
 * A benchmark worker process: runs a Stent worker on the database its parent names and answers the
 * parent's requests for memory and worker statistics over the IPC channel. Started by worker-pool.ts;
 * it exits as soon as its parent goes away, so it can never outlive a crashed benchmark.
 */
import type { StentExecutor } from 'nestjs-stent';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installSqlCounter, takeSqlTrace, takeSqlTraceMs } from './sql-counter.js';
import { ownUsage } from './process-usage.js';
import { WORKER_CONFIG_ENV, type WorkerConfig, type WorkerCounters, type WorkerMessage, type WorkerRequest, type WorkerSnapshot } from './worker-protocol.js';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function snapshotOf(executor: StentExecutor, counters: WorkerCounters, suspended: Set<string>): WorkerSnapshot {
  const memory = process.memoryUsage();
  const stats = executor.worker!.stats();
  return {
    pid: process.pid,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    worker: { state: stats.state, runningActivities: stats.runningActivities, activeWorkflows: stats.activeWorkflows, concurrency: stats.concurrency },
    counters: { ...counters, suspendedNow: suspended.size },
    usage: ownUsage(),
  };
}

/**
 * With STENT_BENCH_SQL_TRACE, the statements this worker sent, most frequent first, when it leaves (the
 * runner's own trace lists only its process): to <dir>/worker-<pid>.sql-trace.txt with
 * STENT_BENCH_TRACE_DIR, else on stderr (cut at 400 characters unless STENT_BENCH_SQL_TRACE > 1).
 */
function writeTrace(): void {
  const trace = takeSqlTrace();
  const ms = takeSqlTraceMs();
  const dir = process.env.STENT_BENCH_TRACE_DIR;
  if (dir) {
    if (trace.length > 0) writeFileSync(join(dir, `worker-${process.pid}.sql-trace.txt`), `${trace.map(([sql, times]) => `x${times} ${Math.round(ms.get(sql) ?? 0)}ms: ${sql.replace(/\s+/g, ' ')}`).join('\n')}\n`);
    return;
  }
  const width = Number(process.env.STENT_BENCH_SQL_TRACE) > 1 ? undefined : 400;
  for (const [sql, times] of trace) process.stderr.write(`[bench worker ${process.pid}]   sql x${times}: ${sql.replace(/\s+/g, ' ').slice(0, width)}\n`);
}

async function main(): Promise<void> {
  if (!process.send) {
    process.stderr.write('worker-process: start me with child_process.fork (an IPC channel is required)\n');
    process.exit(2);
  }
  // The parent is gone (finished or crashed): leave at once. The watchdog also covers a parent that died
  // before this listener existed (its 'disconnect' would have been missed) or while we were busy.
  const parentPid = process.ppid;
  process.on('disconnect', () => {
    writeTrace();
    process.exit(0);
  });
  setInterval(() => {
    if (!process.connected || process.ppid !== parentPid) process.exit(0);
  }, 500).unref();
  if (!process.connected) process.exit(0);
  // Loaded only now, so the guard above is in place before the (slow) engine import.
  const { openExecutor } = await import('./engine.js');
  const raw = process.env[WORKER_CONFIG_ENV];
  if (!raw) throw new Error(`${WORKER_CONFIG_ENV} is not set`);
  const config = JSON.parse(raw) as WorkerConfig;

  installSqlCounter();
  const executor = await openExecutor(config.database, config.worker);
  const counters: WorkerCounters = { started: 0, replays: 0, finished: 0, suspensions: 0, suspendedNow: 0, stepsCompleted: 0, stepsFailed: 0 };
  const suspended = new Set<string>();
  executor.events.on('execution.started', ({ executionId, replay }) => {
    counters.started++;
    if (replay) counters.replays++;
    suspended.delete(executionId);
  });
  executor.events.on('execution.suspended', ({ executionId }) => {
    counters.suspensions++;
    suspended.add(executionId);
  });
  executor.events.on('execution.finished', ({ executionId }) => {
    counters.finished++;
    suspended.delete(executionId);
  });
  executor.events.on('step.completed', () => counters.stepsCompleted++);
  executor.events.on('step.failed', () => counters.stepsFailed++);

  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (request: WorkerRequest) => {
    void (async () => {
      try {
        if (request.type === 'stats') {
          if (request.gc && gc) {
            gc();
            gc();
          }
          await send({ type: 'reply', id: request.id, snapshot: snapshotOf(executor, counters, suspended) });
        } else if (request.type === 'stop') {
          const snapshot = snapshotOf(executor, counters, suspended);
          await executor.close('10s');
          await send({ type: 'reply', id: request.id, snapshot });
          writeTrace();
          process.exit(0);
        }
      } catch (error) {
        await send({ type: 'error', id: request.id, message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      }
    })();
  });
  await send({ type: 'ready', snapshot: snapshotOf(executor, counters, suspended) });
}

main().catch(async (error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[bench worker ${process.pid}] ${message}\n`);
  await send({ type: 'failed', message });
  process.exit(1);
});
