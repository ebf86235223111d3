import { describe, expect, it } from 'vitest';
import type { StentExecutor, WorkerOptions } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { jsonlRecords, processBench } from '../support/process-bench.js';
import { waitUntil } from '../support/wait.js';
import { WorkerProcess } from '../support/worker-process.js';
import { Digest, Mailer, Notify, pauseInstances, type SendRecord } from '../fixtures/pause-flows.js';

const WORKER: WorkerOptions = { concurrency: 4, queues: ['default', 'mail'], lease: '30s', pollInterval: '50ms', maxPollInterval: '250ms' };
/** How long nothing may start while paused: several poll rounds of every worker on a loaded machine. */
const QUIET_MS = 2_500;

const sends = (dir: string) => jsonlRecords<SendRecord>(dir, '.pause.jsonl');

const states = async (client: StentExecutor, ids: string[]) => Promise.all(ids.map(async (id) => (await client.getExecution(id)).state));
const allCompleted = async (client: StentExecutor, ids: string[]) => (await states(client, ids)).every((state) => state === 'completed');

describe.each(DIALECTS)('pausing a queue and a workflow type across two worker processes (%s)', (dialect) => {
  const bench = processBench(dialect, 'stent-pause-');
  const { evidence } = bench;

  it('no worker claims paused work, running work finishes, other work goes on, and resuming releases it', async () => {
    const db = await bench.database();
    const spawn = { url: db.url, worker: WORKER, fixture: 'pause-flows.js', instances: 'pauseInstances', evidenceDir: evidence.dir, poolSize: 3 };
    await Promise.all([WorkerProcess.start(spawn), WorkerProcess.start(spawn)]);
    const c = await bench.client();

    // A slow mail is running when its queue is paused: it finishes.
    const slow = await c.dispatch(Mailer, ['slow', 1_500]);
    await waitUntil(() => sends(evidence.dir).some((r) => r.label === 'slow' && r.ev === 'start'), 'the slow mail to start', 60_000);
    expect(await c.pauseQueue('mail')).toEqual({ kind: 'queue', name: 'mail', paused: true, changed: true });
    expect((await c.pauseQueue('mail')).changed).toBe(false);
    const held = await Promise.all(['m1', 'm2', 'm3', 'm4'].map((label) => c.dispatch(Mailer, [label, 10])));
    const digest = await c.dispatch(Digest, ['d0', 10]);
    expect((await c.waitFor(slow, { timeout: '60s' })).state).toBe('completed');
    expect((await c.waitFor(digest, { timeout: '60s' })).state).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    expect(await states(c, held)).toEqual(held.map(() => 'pending'));
    expect(sends(evidence.dir).filter((r) => r.label.startsWith('m'))).toEqual([]);

    // Pausing the Digest workflow type holds its executions; resuming the queue releases the mails.
    await c.pauseWorkflow(Digest);
    expect((await c.listPaused()).map(({ kind, name }) => ({ kind, name }))).toEqual([
      { kind: 'queue', name: 'mail' },
      { kind: 'workflow', name: 'Digest' },
    ]);
    const digests = await Promise.all(['d1', 'd2', 'd3'].map((label) => c.dispatch(Digest, [label, 10])));
    expect((await c.resumeQueue('mail')).changed).toBe(true);
    await waitUntil(() => allCompleted(c, held), 'the held mails to complete after the resume', 60_000, 100);
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    expect(await states(c, digests)).toEqual(digests.map(() => 'pending'));
    await c.resumeWorkflow('Digest');
    await waitUntil(() => allCompleted(c, digests), 'the held digests to complete after the resume', 60_000, 100);
    expect(await c.listPaused()).toEqual([]);
    // Each ran once.
    const started = sends(evidence.dir).filter((r) => r.ev === 'start').map((r) => r.label).sort();
    expect(started).toEqual(['d0', 'd1', 'd2', 'd3', 'm1', 'm2', 'm3', 'm4', 'slow']);
  });

  it('in a process with a worker, neither a dispatch nor a running workflow\'s new step starts paused work at insert', async () => {
    const set = await ExecutorSet.create(dialect);
    try {
      const executor = await set.executor(pauseInstances(), { ...QUICK_WORKER, queues: ['default', 'mail', 'outbox'] });
      await executor.pauseQueue('mail');
      const id = await executor.dispatch(Mailer, ['local', 1]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect((await executor.getExecution(id)).state).toBe('pending');
      await executor.resumeQueue('mail');
      expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('completed');
      // A running workflow's step on a paused queue is not run by its own worker at insert either.
      await executor.pauseQueue('outbox');
      const notify = await executor.dispatch(Notify, ['n1']);
      await waitUntil(async () => (await executor.getJournal(notify)).some((step) => step.name === 'OutboxActs.post'), 'the outbox step to be recorded');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect((await executor.getJournal(notify)).find((step) => step.name === 'OutboxActs.post')!.state).toBe('pending');
      await executor.resumeQueue('outbox');
      expect((await executor.waitFor(notify, { timeout: '30s' })).value).toBe('posted n1');
      const bad = await executor.pauseQueue('').catch((error: unknown) => error);
      expect((bad as { code: string }).code).toBe('STENT_INVALID_NAME');
    } finally {
      await set.dispose();
    }
  });
});
