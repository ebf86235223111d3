import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { TestProcess } from '../support/child-process.js';
import { testProgram } from '../support/test-programs.js';
import { killAllProcesses, WorkerProcess } from '../support/worker-process.js';
import { TokenStream } from '../fixtures/stream-flows.js';

const READER_MAIN = testProgram('support/stream-reader-main.js');
// A short lease so the second worker takes the execution over soon after the first one is killed.
const WORKER: WorkerOptions = { concurrency: 4, lease: '1500ms', heartbeat: '300ms', pollInterval: '50ms', maxPollInterval: '200ms' };
const COUNT = 40;

const startWorker = (url: string) => WorkerProcess.start({ url, worker: WORKER, fixture: 'stream-flows.js', instances: 'streamFlowInstances' });

describe.each(DIALECTS)('a stream read from another process across a worker crash on %s', (dialect) => {
  let db: TestDatabase;
  let client: StentExecutor | undefined;
  afterEach(async () => {
    await killAllProcesses();
    await client?.close('1s').catch(() => undefined);
    await db?.dispose();
  });

  it('the reader sees every chunk once, in order, and the end, though the worker writing it was killed mid-stream', async () => {
    db = await createTestDatabase(dialect);
    client = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: false });
    await client.migrate();
    const first = await startWorker(db.url);
    // The first worker writes 10 tokens, then waits on the gate until it is killed; the second finds it open.
    const gate = { at: 10, file: join(mkdtempSync(join(tmpdir(), 'stent-stream-gate-')), 'open') };
    const id = await client.dispatch(TokenStream, [COUNT, 20, gate]);
    const reader = new TestProcess(READER_MAIN, { label: 'stream reader', env: { STENT_TEST_READER: JSON.stringify({ url: db.url, executionId: id, key: 'tokens' }) } });
    await reader.waitForReady(60_000);
    // Killed once the reader has seen part of the stream: the rest is written by a replay elsewhere.
    await reader.waitForJson((line) => (line.chunk as { index: number } | undefined)?.index === 9, 'the tenth chunk', 60_000);
    await first.kill();
    expect(reader.jsonLines.filter((line) => line.chunk).length).toBe(10);
    writeFileSync(gate.file, '');
    await startWorker(db.url);
    await reader.waitForJson((line) => line.end === true || line.error !== undefined, 'the end of the stream', 90_000);
    expect(reader.jsonLines.find((line) => line.error)).toBeUndefined();
    const chunks = reader.jsonLines.filter((line) => line.chunk).map((line) => line.chunk as { index: number; value: { i: number; text: string } });
    expect(chunks).toEqual(Array.from({ length: COUNT }, (_, i) => ({ index: i, value: { i, text: `token-${i}` } })));
    expect((await client.waitFor(id, { timeout: '30s' })).value).toBe(COUNT);
    expect(await client.getEvent(id, 'written')).toBe(COUNT);
  });
});
