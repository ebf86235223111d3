// The README's "Retention" examples, as written: the cleanup script's dry run, and the workers' retention policy.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Module, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionNotFoundError, ManualClock, StentExecutor, Workflow, createStentStore } from 'nestjs-stent';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { importReadmeExample } from '../support/readme-example.js';
import { waitUntil } from '../support/wait.js';

@Workflow()
class NoteWorkflow {
  async run(note: string): Promise<string> {
    return note;
  }
}

const DAY = 86_400_000;

/** Executions of NoteWorkflow finished `daysAgo` days ago, on an executor whose clock is set back. */
async function finishedDaysAgo(file: string, daysAgo: number, notes: string[]): Promise<string[]> {
  const executor = new StentExecutor({ store: await createStentStore({ database: { type: 'better-sqlite3', database: file } }), clock: new ManualClock(Date.now() - daysAgo * DAY) });
  executor.register(new NoteWorkflow());
  await executor.start();
  try {
    const ids = await Promise.all(notes.map((note) => executor.dispatch(NoteWorkflow, [note])));
    for (const id of ids) await executor.waitFor(id, { timeout: '20s' });
    return ids;
  } finally {
    await executor.close();
  }
}

describe('the README retention examples, as written', () => {
  let app: INestApplicationContext | undefined;
  let db: TestDatabase | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await app?.close();
    await db?.dispose();
    for (const cleanup of cleanups.splice(0)) cleanup();
    vi.restoreAllMocks();
  });

  it('the script reports what a cleanup would remove, and removes nothing', async () => {
    db = await createTestDatabase('sqlite');
    const file = db.options.database as string;
    await finishedDaysAgo(file, 40, ['old-1', 'old-2']);
    await finishedDaysAgo(file, 1, ['recent']);
    const printed: unknown[] = [];
    vi.spyOn(console, 'log').mockImplementation((value: unknown) => void printed.push(value));
    const { cleanup } = await importReadmeExample('Retention', { block: 1, database: file });
    cleanups.push(cleanup);
    expect(printed).toEqual([expect.objectContaining({ executions: 2, dryRun: true })]);
    const executor = new StentExecutor({ store: await createStentStore({ database: db.options }) });
    try {
      expect((await executor.listExecutions({})).total).toBe(3);
    } finally {
      await executor.close();
    }
  });

  it('the workers remove completed executions older than 7 days', async () => {
    db = await createTestDatabase('sqlite');
    const file = db.options.database as string;
    const [old] = await finishedDaysAgo(file, 8, ['old']);
    const [recent] = await finishedDaysAgo(file, 1, ['recent']);
    const { module, cleanup } = await importReadmeExample<{ AppModule: Type<unknown> }>('Retention', { block: 2, database: file });
    cleanups.push(cleanup);
    @Module({ imports: [module.AppModule], providers: [NoteWorkflow] })
    class TestApp {}
    app = await NestFactory.createApplicationContext(TestApp, { logger: false });
    const executor = app.get(StentExecutor);
    await waitUntil(async () => (await executor.listExecutions({})).total === 1, 'the old execution is removed');
    expect((await executor.listExecutions({})).items.map((e) => e.id)).toEqual([recent]);
    await expect(executor.getExecution(old!)).rejects.toBeInstanceOf(ExecutionNotFoundError);
  });
});
