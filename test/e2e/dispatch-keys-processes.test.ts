import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DispatchOptions, StentExecutor, WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { openClient } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';
import { killAllProcesses, makeEvidenceDir, WorkerProcess } from '../support/worker-process.js';
import type { TouchRecord } from '../fixtures/dispatch-key-flows.js';

const WORKER: WorkerOptions = { concurrency: 4, lease: '30s', pollInterval: '50ms', maxPollInterval: '250ms' };

function touches(dir: string): TouchRecord[] {
  const out: TouchRecord[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.keys.jsonl'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as TouchRecord);
  }
  return out;
}

describe.each(DIALECTS)('debounce and singleton with dispatchers racing in several processes (%s)', (dialect) => {
  let db: TestDatabase | undefined;
  let client: StentExecutor | undefined;
  const evidence = makeEvidenceDir('stent-keys-');
  afterEach(async () => {
    await killAllProcesses();
    await client?.close();
    await db?.dispose();
    client = undefined;
    db = undefined;
  });
  afterAll(() => evidence.dispose());

  /** `processes` dispatch-only processes, each dispatching `each` executions of Refresh at once with `options`. */
  async function race(processes: number, each: number, options: DispatchOptions, ms: number): Promise<string[]> {
    const dispatchers = await Promise.all(
      Array.from({ length: processes }, (_, p) =>
        WorkerProcess.start({
          url: db!.url,
          worker: false,
          fixture: 'dispatch-key-flows.js',
          instances: 'keyInstances',
          poolSize: 3,
          dispatch: Array.from({ length: each }, (_, i) => ({ workflow: 'Refresh', args: [`p${p}-${i}`, ms], options })),
        }),
      ),
    );
    return (await Promise.all(dispatchers.map((d) => d.dispatchedIds(60_000)))).flat();
  }

  it('debounce: racing dispatches of one key collapse into one execution, run once', async () => {
    db = await createTestDatabase(dialect);
    const spawn = { url: db.url, worker: WORKER, fixture: 'dispatch-key-flows.js', instances: 'keyInstances', evidenceDir: evidence.dir, poolSize: 3 };
    await WorkerProcess.start(spawn);
    client = await openClient(db);
    const ids = await race(3, 5, { debounce: { key: 'cart-7', delay: '4s', maxWait: '1m' } }, 10);
    expect(ids).toHaveLength(15);
    expect(new Set(ids).size).toBe(1);
    const outcome = await client.waitFor(ids[0]!, { timeout: '60s' });
    expect(outcome.state).toBe('completed');
    expect(String(outcome.value)).toMatch(/^p\d-\d$/);
    const detail = await client.getExecution(ids[0]!);
    expect(detail.startedAt!.getTime() - detail.createdAt.getTime()).toBeGreaterThanOrEqual(4_000);
    expect((await client.listExecutions({ workflowName: 'Refresh' })).total).toBe(1);
    expect(touches(evidence.dir).filter((r) => r.ev === 'start')).toHaveLength(1);
  });

  it('singleton: racing dispatches of one key run one at a time, in turn, each once', async () => {
    db = await createTestDatabase(dialect);
    const spawn = { url: db.url, worker: WORKER, fixture: 'dispatch-key-flows.js', instances: 'keyInstances', evidenceDir: evidence.dir, poolSize: 3 };
    await Promise.all([WorkerProcess.start(spawn), WorkerProcess.start(spawn)]);
    client = await openClient(db);
    const c = client;
    const ids = await race(3, 4, { singleton: 'tenant-1' }, 150);
    expect(new Set(ids).size).toBe(12);
    await waitUntil(async () => (await c.listExecutions({ workflowName: 'Refresh', state: 'completed' })).total === 12, 'all twelve to complete', 120_000, 200);
    const runs = touches(evidence.dir).filter((r) => ids.includes(r.executionId));
    const spans = ids
      .map((id) => ({ id, start: runs.find((r) => r.executionId === id && r.ev === 'start')!.t, end: runs.find((r) => r.executionId === id && r.ev === 'end')!.t }))
      .sort((a, b) => a.start - b.start);
    expect(runs.filter((r) => r.ev === 'start')).toHaveLength(12);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start, `${spans[i]!.id} started before ${spans[i - 1]!.id} ended`).toBeGreaterThanOrEqual(spans[i - 1]!.end);
    // In the engine's own record too: each started after the one before it finished.
    const details = (await Promise.all(ids.map((id) => c.getExecution(id)))).sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
    for (let i = 1; i < details.length; i++) expect(details[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(details[i - 1]!.finishedAt!.getTime());
  });
});
