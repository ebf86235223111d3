import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StentExecutor } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { finalStateOf, waitUntil } from '../support/wait.js';
import { openClient, openInspector, type Inspector } from './fault-harness.js';
import { invariantProblems } from '../support/invariants.js';
import { KBranch } from '../fixtures/revive-kill-flows.js';

const WORKER = fileURLToPath(new URL('../fixtures/revive-worker.js', import.meta.url));
const children = new Set<ChildProcess>();

function startWorker(dir: string, config: object): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER], { env: { ...process.env, R3_DIR: dir, R3_CONFIG: JSON.stringify(config) }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('"ready":true')) resolve(child);
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (!out.includes('"ready":true')) reject(new Error(`r3-worker exited (${code}/${signal}): ${err.slice(-2000)}`));
    });
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
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
  let dir: string;
  let client: StentExecutor | undefined;
  let inspector: Inspector | undefined;
  afterEach(async () => {
    await Promise.all([...children].map(kill));
    await client?.close(0).catch(() => undefined);
    await inspector?.close().catch(() => undefined);
    await db?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the independent branch reused by the killed replay is not run again by the replay that takes over', async () => {
    db = await createTestDatabase(dialect);
    dir = mkdtempSync(join(tmpdir(), 'r3-kill-'));
    client = await openClient(db);
    inspector = await openInspector(db);
    writeFileSync(join(dir, 'broken'), '');
    const quick = { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', suspendAfter: '300ms' };
    // Workflows run in wf1; activities in a separate process (so the retried step finishes without wf1).
    const wf1 = await startWorker(dir, { url: db.url, worker: { ...quick, lease: '2s' }, role: 'workflows' });
    await startWorker(dir, { url: db.url, worker: { ...quick, lease: '30s' }, role: 'activities' });

    const id = await client.dispatch(KBranch, []);
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
    await kill(wf1);
    writeFileSync(join(dir, 'flaky-go'), '');
    await waitUntil(async () => (await client!.getJournal(id)).find((s) => s.position === 0)?.state === 'completed', 'flaky to complete');
    // another workflow worker takes over once wf1's lease has expired
    await startWorker(dir, { url: db.url, worker: { ...quick, lease: '2s' }, role: 'workflows' });
    expect(await finalStateOf(client, id, '20s')).toBe('completed');
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
    dir = mkdtempSync(join(tmpdir(), 'r3-kill-'));
    client = await openClient(db);
    inspector = await openInspector(db);
    writeFileSync(join(dir, 'broken'), '');
    const quick = { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', suspendAfter: '300ms' };
    await startWorker(dir, { url: db.url, worker: { ...quick, lease: '2s' }, role: 'workflows' });
    await startWorker(dir, { url: db.url, worker: { ...quick, lease: '30s' }, role: 'activities' });
    const id = await client.dispatch(KBranch, []);
    await client.sendSignal(id, 'sig', 'one');
    await waitUntil(async () => (await client!.getJournal(id)).find((s) => s.position === 0)?.state === 'failed', 'flaky to fail');
    writeFileSync(join(dir, 'open'), '');
    expect(await finalStateOf(client, id)).toBe('failed');
    unlinkSync(join(dir, 'broken'));
    await client.dlq.replay((await client.dlq.list()).items.find((l) => l.executionId === id)!.id);
    await waitUntil(() => evidence(dir)['flaky:start'] === 1, 'the retried flaky to run');
    await delay(1000);
    writeFileSync(join(dir, 'flaky-go'), '');
    expect(await finalStateOf(client, id, '20s')).toBe('completed');
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
