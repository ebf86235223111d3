import { describe, expect, it } from 'vitest';
import type { DispatchOptions, WorkerOptions } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { jsonlRecords, processBench } from '../support/process-bench.js';
import { waitUntil } from '../support/wait.js';
import { WorkerProcess } from '../support/worker-process.js';
import type { TouchRecord } from '../fixtures/dispatch-key-flows.js';

const WORKER: WorkerOptions = { concurrency: 4, lease: '30s', pollInterval: '50ms', maxPollInterval: '250ms' };

const touches = (dir: string) => jsonlRecords<TouchRecord>(dir, '.keys.jsonl');

describe.each(DIALECTS)('debounce and singleton with dispatchers racing in several processes (%s)', (dialect) => {
  const bench = processBench(dialect, 'stent-keys-');
  const { evidence } = bench;

  /** `processes` dispatch-only processes on `url`, each dispatching `each` executions of Refresh at once with `options`. */
  async function race(url: string, processes: number, each: number, options: DispatchOptions, ms: number): Promise<string[]> {
    const dispatchers = await Promise.all(
      Array.from({ length: processes }, (_, p) =>
        WorkerProcess.start({
          url,
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
    const db = await bench.database();
    const spawn = { url: db.url, worker: WORKER, fixture: 'dispatch-key-flows.js', instances: 'keyInstances', evidenceDir: evidence.dir, poolSize: 3 };
    await WorkerProcess.start(spawn);
    const client = await bench.client();
    const ids = await race(db.url, 3, 5, { debounce: { key: 'cart-7', delay: '4s', maxWait: '1m' } }, 10);
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
    const db = await bench.database();
    const spawn = { url: db.url, worker: WORKER, fixture: 'dispatch-key-flows.js', instances: 'keyInstances', evidenceDir: evidence.dir, poolSize: 3 };
    await Promise.all([WorkerProcess.start(spawn), WorkerProcess.start(spawn)]);
    const c = await bench.client();
    const ids = await race(db.url, 3, 4, { singleton: 'tenant-1' }, 150);
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
