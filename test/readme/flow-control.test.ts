// The README's "Flow control" examples, as written: schedules, debounce and singleton dispatch, on the manual clock.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Test, type TestingModule } from '@nestjs/testing';
import { SingletonConflictError, StentExecutor, type ExecutionId } from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { importReadmeExample } from '../support/readme-example.js';
import { ExportWorkflow } from './export.workflow.js';
import { ReindexWorkflow, SyncWorkflow } from './documents.workflows.js';

const here = dirname(fileURLToPath(import.meta.url));
const valueOf = (result: unknown) => (result as { value?: unknown } | undefined)?.value;

describe('the README flow-control examples, as written', () => {
  let moduleRef: TestingModule | undefined;
  let db: TestDatabase | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await moduleRef?.close();
    await db?.dispose();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function testing(providers: Array<new (...args: never[]) => object>) {
    db = await createTestDatabase('sqlite');
    moduleRef = await Test.createTestingModule({ imports: [StentTestingModule.forRoot({ database: db.options })], providers }).compile();
    await moduleRef.init();
    return { stent: moduleRef.get(StentTestHarness), executor: moduleRef.get(StentExecutor) };
  }

  it('runs the hourly report each hour, and backfills the paused nightly export', async () => {
    type Example = { HourlyReport: new () => object; scheduleExports: (executor: StentExecutor) => Promise<unknown> };
    const { module, cleanup } = await importReadmeExample<Example>('Flow control', { block: 1, dir: here });
    cleanups.push(cleanup);
    const { stent, executor } = await testing([module.HourlyReport, ExportWorkflow]);
    await stent.advance('1h');
    const reports = await executor.listExecutions({ workflowName: 'HourlyReport' });
    expect(reports.items.map((e) => [e.state, valueOf(e.result)])).toEqual([['completed', 'report for 2030-01-01T01:00:00.000Z']]);

    await module.scheduleExports(executor);
    await stent.drain();
    expect((await executor.schedules.get('nightly-export')).state).toBe('paused');
    const exports = await executor.listExecutions({ workflowName: 'ExportWorkflow' });
    expect(exports.items.map((e) => valueOf(e.result)).sort()).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((day) => `2026-01-0${day}T07:30:00.000Z to s3://bucket`),
    );
  });

  it('collapses a burst of saves into one reindex, and runs one sync per tenant at a time', async () => {
    type Example = {
      reindexLater: (executor: StentExecutor, docId: string, version: number) => Promise<ExecutionId<ReindexWorkflow>>;
      sync: (executor: StentExecutor, tenantId: string) => Promise<ExecutionId<SyncWorkflow>>;
      syncUnlessRunning: (executor: StentExecutor, tenantId: string) => Promise<ExecutionId<SyncWorkflow>>;
    };
    const { module, cleanup } = await importReadmeExample<Example>('Flow control', { block: 2, dir: here });
    cleanups.push(cleanup);
    const { stent, executor } = await testing([ReindexWorkflow, SyncWorkflow]);

    const first = await module.reindexLater(executor, 'doc-1', 1);
    await stent.advance('4s');
    expect(await module.reindexLater(executor, 'doc-1', 2)).toBe(first);
    await stent.advance('4s');
    expect(await module.reindexLater(executor, 'doc-1', 3)).toBe(first);
    expect((await executor.getExecution(first)).state).toBe('pending');
    await stent.advance('5s');
    expect((await executor.waitFor(first)).unwrap()).toBe('doc-1@3');

    const running = await module.sync(executor, 'acme');
    await stent.drain();
    const next = await module.sync(executor, 'acme');
    await stent.drain();
    expect([(await executor.getExecution(running)).state, (await executor.getExecution(next)).state]).toEqual(['running', 'pending']);
    await expect(module.syncUnlessRunning(executor, 'acme')).rejects.toBeInstanceOf(SingletonConflictError);
    await executor.sendSignal(running, 'done', null);
    await stent.drain();
    expect((await executor.waitFor(running)).unwrap()).toBe('acme');
    expect((await executor.getExecution(next)).state).toBe('running');
  });
});
