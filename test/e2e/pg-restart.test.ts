import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerOptions } from 'nestjs-stent';
import { clusterDatabase, PgCluster, type ShutdownMode } from '../support/pg-cluster.js';
import type { TestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { openInspector } from '../support/inspector.js';
import { makeEvidenceDir } from '../support/worker-process.js';
import { exactlyOnceProblems, faultWorker, killAllProcesses, readRecords, recordedSteps, runsOf, WorkerProcess } from './fault-env.js';

const DISPATCHER = fileURLToPath(new URL('../fixtures/outage-dispatcher.js', import.meta.url));
// Leases sized for a loaded machine: an outage of a few seconds must not, by itself, hand work over.
const WORKER: WorkerOptions = { concurrency: 4, lease: '8s', pollInterval: '100ms', maxPollInterval: '1s' };

/** A dispatcher process (see outage-dispatcher.ts): its exit code, and the summary line it printed. */
function startDispatcher(url: string, prefix: string, counterDir: string, worker: WorkerOptions | false) {
  const child: ChildProcess = spawn(process.execPath, [DISPATCHER], {
    env: { ...process.env, STENT_TEST_EVIDENCE_DIR: counterDir, OUTAGE_CONFIG: JSON.stringify({ url, prefix, count: 40, spacingMs: 150, sleeps: [30, 30, 30], worker }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    ready: () => stdout.includes('"ready":true'),
    summary: () => {
      const line = stdout.split('\n').find((l) => l.includes('"done":true'));
      return line ? (JSON.parse(line) as { states: Record<string, number>; retries: number }) : undefined;
    },
    stderr: () => stderr,
  };
}

describe('PostgreSQL restarts under load (a cluster of this test\'s own)', () => {
  let cluster: PgCluster;
  let db: TestDatabase;

  beforeAll(async () => {
    cluster = await PgCluster.create();
    db = await clusterDatabase(cluster);
  });

  afterAll(async () => {
    await killAllProcesses();
    await db?.dispose().catch(() => undefined);
    await cluster?.destroy();
  });

  for (const mode of ['fast', 'immediate'] as ShutdownMode[]) {
    it(`restarts in ${mode} mode: no process exits, everything completes, nothing recorded runs again`, async () => {
      const counters = makeEvidenceDir('stent-outage-evidence-');
      const prefix = `${mode}-${Date.now()}`;
      const workers = await Promise.all([0, 1].map(() => WorkerProcess.start(faultWorker(db.url, counters.dir, WORKER))));
      // Two dispatchers: one dispatch-only, one with a worker of its own.
      const dispatchers = [
        startDispatcher(db.url, `${prefix}-a`, counters.dir, false),
        startDispatcher(db.url, `${prefix}-b`, counters.dir, WORKER),
      ];
      try {
        // Restart twice while dispatches, claims, activity results and waitFor polls are under way.
        await waitUntil(() => dispatchers.every((d) => d.ready()), 'the dispatchers to start', 30_000);
        await waitUntil(() => readRecords(counters.dir).length > 20, 'activity bodies running', 30_000);
        // Dispatchers still dispatching or waiting for results when the server goes down: their
        // connections (and the workers') are cut under way, not after the work is done.
        const underWay = () => dispatchers.filter((d) => d.summary() === undefined).length;
        const underWayAtRestarts = [underWay()];
        await cluster.restart(mode);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        underWayAtRestarts.push(underWay());
        await cluster.restart(mode);

        const ends = await Promise.race([
          Promise.all(dispatchers.map((d) => d.exited)),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`dispatchers did not finish: ${dispatchers.map((d) => d.stderr().slice(-1500)).join('\n---\n')}`)), 150_000)),
        ]);
        for (const [i, end] of ends.entries()) {
          expect(end, `dispatcher ${i} exit; stderr: ${dispatchers[i]!.stderr().slice(-3000)}`).toEqual({ code: 0, signal: null });
          expect(dispatchers[i]!.summary()?.states).toEqual({ completed: 40 });
        }
        for (const worker of workers) expect(worker.alive, `worker ${worker.pid} exited ${JSON.stringify(worker.exitInfo)}: ${worker.stderr.slice(-3000)}`).toBe(true);
        // The restarts reached work under way (and everything still completed). A connection's loss is not
        // always logged: an operation retried on a new connection succeeds without a word.
        expect(underWayAtRestarts, 'dispatchers still under way at each restart').toEqual([2, 2]);

        const inspector = await openInspector(db);
        try {
          const ids = Array.from({ length: 80 }, (_, i) => `${prefix}-${i < 40 ? 'a' : 'b'}-${i % 40}`);
          const steps = await recordedSteps(inspector, ids);
          expect(steps.length).toBe(80 * 3);
          expect(steps.every((s) => s.state === 'completed')).toBe(true);
          // A body may run again only if its result never reached the database (the outage cut the write).
          const interrupted = new Set(runsOf(readRecords(counters.dir)).map((r) => r.pid));
          expect(exactlyOnceProblems(steps, runsOf(readRecords(counters.dir)).filter((r) => ids.includes(r.executionId)), interrupted)).toEqual([]);
        } finally {
          await inspector.close();
        }
      } finally {
        for (const d of dispatchers) d.child.kill('SIGKILL');
        await Promise.all(workers.map((w) => w.kill()));
        counters.dispose();
      }
    });
  }
});
