import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { StentExecutor, StentModule } from 'nestjs-stent';
import { GreetActivities, GreetFlow, Greeter } from './flows.js';
import { testApps } from './support.js';

@Module({ providers: [Greeter, GreetActivities, GreetFlow] })
class GreetModule {}

const WORKER = { concurrency: 4, pollInterval: '20ms', maxPollInterval: '100ms' } as const;

async function runGreeting(app: TestingModule): Promise<void> {
  const executor = app.get(StentExecutor);
  const id = await executor.dispatch(GreetFlow, ['Ada']);
  const deadline = Date.now() + 20_000;
  while ((await executor.getJournal(id)).every((step) => step.kind !== 'signal')) {
    assert.ok(Date.now() < deadline, 'the workflow should reach its signal wait');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await executor.sendSignal(id, 'punctuation', '!');
  const result = await executor.waitFor<string>(id, { timeout: '20s' });
  assert.equal(result.state, 'completed');
  assert.equal(result.value, 'HELLO, ADA!');
  const journal = await executor.getJournal(id);
  assert.deepEqual(
    journal.map((step) => [step.kind, step.state]),
    [
      ['activity', 'completed'],
      ['sleep', 'completed'],
      ['signal', 'completed'],
      ['activity', 'completed'],
    ],
  );
  assert.equal(journal[3]!.attempts, 2, 'the flaky activity was retried once');
  assert.equal(app.get(Greeter).calls, 1);
}

describe('StentModule on NestJS 11 with the sqlite3 driver', () => {
  const apps = testApps();

  it("forRoot with database { type: 'sqlite' } boots and runs a workflow end to end", async () => {
    const file = apps.file();
    await runGreeting(await apps.start([StentModule.forRoot({ database: { type: 'sqlite', database: file }, worker: WORKER }), GreetModule]));
  });

  it('forRootAsync builds the same options from a factory', async () => {
    const file = apps.file();
    await runGreeting(
      await apps.start([StentModule.forRootAsync({ useFactory: async () => ({ database: { type: 'sqlite' as const, database: file }, worker: WORKER }) }), GreetModule]),
    );
  });
});
