// The README's "Events and streams" example, as written: the outline event, then every section in order.
import { afterEach, describe, expect, it } from 'vitest';
import { StentExecutor, createStentStore } from 'nestjs-stent';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { importReadmeExample } from '../support/readme-example.js';

type Example = {
  LlmActivities: new () => object;
  ReportWorkflow: new (llm: object) => object;
  report: (executor: StentExecutor, topic: string, render: (index: number, section: { heading: string; text: string }) => void) => Promise<string[]>;
};

describe('the README events and streams example, as written', () => {
  let executor: StentExecutor | undefined;
  let db: TestDatabase | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await executor?.close();
    await db?.dispose();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('hands the reader the outline, then each section once and in order', async () => {
    const { module, cleanup } = await importReadmeExample<Example>('Events and streams');
    cleanups.push(cleanup);
    db = await createTestDatabase('sqlite');
    executor = new StentExecutor({ store: await createStentStore({ database: db.options }) });
    const llm = new module.LlmActivities();
    executor.register(llm, new module.ReportWorkflow(llm));
    await executor.start();
    const rendered: Array<[number, { heading: string; text: string }]> = [];
    const outline = await module.report(executor, 'durable workflows', (index, section) => rendered.push([index, section]));
    expect(outline).toEqual(['What durable workflows is', 'Why durable workflows matters']);
    const [id] = (await executor.listExecutions({ workflowName: 'ReportWorkflow' })).items.map((e) => e.id);
    expect(await executor.getEvent(id!, 'progress')).toBe(1);
    expect(rendered).toEqual([
      [0, { heading: 'What durable workflows is', text: 'What durable workflows is: ...' }],
      [1, { heading: 'Why durable workflows matters', text: 'Why durable workflows matters: ...' }],
    ]);
  });
});
