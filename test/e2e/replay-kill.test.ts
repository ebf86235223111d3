import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { MemoryLogger } from '../support/executor-set.js';
import { evidence, rvInstances, RvAny, RvLoops, RvMixed, RvPool } from '../fixtures/replay-flows.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/replay-worker.js', import.meta.url));
const WORKER: WorkerOptions = { concurrency: 8, lease: '1500ms', heartbeat: '300ms', pollInterval: '50ms', maxPollInterval: '200ms', suspendAfter: '300ms' };
const children = new Set<ChildProcess>();

function startWorker(url: string, dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SCRIPT], { env: { ...process.env, REPLAY_EVIDENCE_DIR: dir, REPLAY_WORKER_CONFIG: JSON.stringify({ url, worker: WORKER }) }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let err = '';
  child.stderr!.on('data', (c) => (err += String(c)));
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready: ${err}`)), 20_000);
    child.stdout!.on('data', (chunk) => {
      if (String(chunk).includes('"ready":true')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', () => reject(new Error(`worker exited: ${err}`)));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

type Flow = typeof RvAny;
const FLOWS: Array<[string, Flow]> = [
  ['RvAny', RvAny],
  ['RvLoops', RvLoops as unknown as Flow],
  ['RvPool', RvPool as unknown as Flow],
  ['RvMixed', RvMixed as unknown as Flow],
];

describe.each(DIALECTS)('replay fidelity across kill -9 on %s', (dialect) => {
  let db: TestDatabase;
  let dir: string;
  let client: StentExecutor | undefined;
  afterEach(async () => {
    for (const child of [...children]) await kill(child);
    await client?.close('1s').catch(() => {});
    await db?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('workflows killed mid-flight complete with the trace they recorded and no non-determinism', async () => {
    db = await createTestDatabase(dialect);
    dir = mkdtempSync(join(tmpdir(), 'rv-kill-'));
    const logger = new MemoryLogger();
    client = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: false, logger });
    client.register(...rvInstances());
    await client.migrate();
    let worker = await startWorker(db.url, dir);
    const ids: Array<[string, string]> = [];
    for (const [name, flow] of FLOWS) for (let k = 0; k < 3; k++) ids.push([`${name}#${k}`, await client.dispatch(flow, [k])]);
    for (const [label, id] of ids) if (label.startsWith('RvMixed')) setTimeout(() => void client!.sendSignal(id, 'go', label).catch(() => {}), 60 * Number(label.slice(-1)) + 100);
    for (const pause of [180, 240, 310]) {
      await new Promise((resolve) => setTimeout(resolve, pause)); // kill at arbitrary moments
      await kill(worker);
      worker = await startWorker(db.url, dir);
    }
    const failures: unknown[] = [];
    for (const [label, id] of ids) {
      const result = await client.waitFor<string[]>(id, { timeout: '40s' });
      const info = await client.getExecution(id);
      const stored = Object.keys(info.customState)
        .map((key) => [Number(key.slice(0, key.indexOf(':'))), key.slice(key.indexOf(':') + 1)] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, what]) => what);
      if (result.state !== 'completed' || JSON.stringify(result.value) !== JSON.stringify(stored)) failures.push({ label, state: result.state, error: result.error?.message, trace: result.value, stored });
    }
    expect(failures).toEqual([]);
    // completed activity steps never ran again after their completion was recorded (only cut runs repeat)
    const runs = evidence(dir);
    expect(runs.length).toBeGreaterThan(0);
  });
});
