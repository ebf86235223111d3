import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StentExecutor, WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { openClient } from '../support/executor-set.js';
import { openInspector, type Inspector } from '../support/inspector.js';
import { invariantProblems } from '../support/invariants.js';
import { finalStateOf, waitUntil } from '../support/wait.js';
import { killAllProcesses, makeEvidenceDir, WorkerProcess } from '../support/worker-process.js';
import { SurvivingBranchOnFileGates } from '../fixtures/revive-kill-flows.js';

/** A worker process running one part of the surviving-branch fixture (workflows or activities). */
function startWorker(url: string, dir: string, role: 'workflows' | 'activities', worker: WorkerOptions): Promise<WorkerProcess> {
  return WorkerProcess.start({ url, evidenceDir: dir, worker, poolSize: 3, fixture: 'revive-kill-flows.js', instances: 'survivingBranchInstances', role });
}

function evidence(dir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.log')) continue;
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) if (line) counts[line] = (counts[line] ?? 0) + 1;
  }
  return counts;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(DIALECTS)('kill -9 of the worker replaying a revived execution on %s', (dialect) => {
  let db: TestDatabase;
  let evidenceDir: ReturnType<typeof makeEvidenceDir> | undefined;
  let client: StentExecutor | undefined;
  let inspector: Inspector | undefined;
  afterEach(async () => {
    await killAllProcesses();
    await client?.close(0).catch(() => undefined);
    await inspector?.close().catch(() => undefined);
    await db?.dispose();
    evidenceDir?.dispose();
  });

  it('the independent branch reused by the killed replay is not run again by the replay that takes over', async () => {
    db = await createTestDatabase(dialect);
    evidenceDir = makeEvidenceDir('revive-kill-');
    const dir = evidenceDir.dir;
    client = await openClient(db);
    inspector = await openInspector(db);
    writeFileSync(join(dir, 'broken'), '');
    const quick = { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', suspendAfter: '300ms' };
    // Workflows run in wf1; activities in a separate process (so the retried step finishes without wf1).
    const wf1 = await startWorker(db.url, dir, 'workflows', { ...quick, lease: '2s' });
    await startWorker(db.url, dir, 'activities', { ...quick, lease: '30s' });

    const id = await client.dispatch(SurvivingBranchOnFileGates, []);
    await client.sendSignal(id, 'sig', 'one');
    await waitUntil(async () => (await client!.getJournal(id)).find((s) => s.position === 0)?.state === 'failed', 'flaky to fail');
    writeFileSync(join(dir, 'open'), '');
    expect(await finalStateOf(client, id)).toBe('failed');
    expect(evidence(dir)).toEqual({ 'flaky:broken': 1, 'gated:one': 1, 'steady:child-g:one-one': 1, 'steady:s:child-g:one-one': 1 });

    unlinkSync(join(dir, 'broken'));
    await client.dlq.replay((await client.dlq.list()).items.find((l) => l.executionId === id)!.id);
    // wf1 replays: the branch is answered from the journal while flaky runs (held) in the activity worker.
    await waitUntil(() => evidence(dir)['flaky:start'] === 1, 'the retried flaky to run');
    await delay(1000);
    await wf1.kill();
    writeFileSync(join(dir, 'flaky-go'), '');
    await waitUntil(async () => (await client!.getJournal(id)).find((s) => s.position === 0)?.state === 'completed', 'flaky to complete');
    // another workflow worker takes over once wf1's lease has expired
    await startWorker(db.url, dir, 'workflows', { ...quick, lease: '2s' });
    expect(await finalStateOf(client, id, '60s')).toBe('completed');
    const result = await client.waitFor(id, { timeout: '1s' });
    expect(result.value).toEqual(['flaky-ok', 's:s:child-g:one-one']);
    expect(evidence(dir)).toEqual({
      'flaky:broken': 1,
      'flaky:start': 1,
      'flaky:ok': 1,
      'gated:one': 1,
      'steady:child-g:one-one': 1,
      'steady:s:child-g:one-one': 1,
    });
    expect((await client.getExecution(id)).counters).toEqual({ b2: 1 });
    expect(await invariantProblems(inspector)).toEqual([]);
  });

  it('control: the same scenario without the kill reuses the branch', async () => {
    db = await createTestDatabase(dialect);
    evidenceDir = makeEvidenceDir('revive-kill-');
    const dir = evidenceDir.dir;
    client = await openClient(db);
    inspector = await openInspector(db);
    writeFileSync(join(dir, 'broken'), '');
    const quick = { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', suspendAfter: '300ms' };
    await startWorker(db.url, dir, 'workflows', { ...quick, lease: '2s' });
    await startWorker(db.url, dir, 'activities', { ...quick, lease: '30s' });
    const id = await client.dispatch(SurvivingBranchOnFileGates, []);
    await client.sendSignal(id, 'sig', 'one');
    await waitUntil(async () => (await client!.getJournal(id)).find((s) => s.position === 0)?.state === 'failed', 'flaky to fail');
    writeFileSync(join(dir, 'open'), '');
    expect(await finalStateOf(client, id)).toBe('failed');
    unlinkSync(join(dir, 'broken'));
    await client.dlq.replay((await client.dlq.list()).items.find((l) => l.executionId === id)!.id);
    await waitUntil(() => evidence(dir)['flaky:start'] === 1, 'the retried flaky to run');
    await delay(1000);
    writeFileSync(join(dir, 'flaky-go'), '');
    expect(await finalStateOf(client, id, '60s')).toBe('completed');
    expect(evidence(dir)).toEqual({
      'flaky:broken': 1,
      'flaky:start': 1,
      'flaky:ok': 1,
      'gated:one': 1,
      'steady:child-g:one-one': 1,
      'steady:s:child-g:one-one': 1,
    });
    expect(await invariantProblems(inspector)).toEqual([]);
  });
});
