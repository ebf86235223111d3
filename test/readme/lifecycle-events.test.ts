// The README's "Lifecycle events" example, as written: its handlers log a failed attempt and a dead letter.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Logger, Module, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Activity, StentExecutor, StentModule, Workflow } from 'nestjs-stent';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { importReadmeExample } from '../support/readme-example.js';

@Activity({ retry: { maxAttempts: 2, initialDelay: 10, jitter: false } })
class FlakyActivities {
  async send(to: string): Promise<void> {
    throw new Error(`${to} does not answer`);
  }
}

@Workflow()
class NotifyWorkflow {
  constructor(private readonly flaky: FlakyActivities) {}
  async run(to: string): Promise<void> {
    await this.flaky.send(to);
  }
}

describe('the README lifecycle events example, as written', () => {
  let app: INestApplicationContext | undefined;
  let db: TestDatabase | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await app?.close();
    await db?.dispose();
    for (const cleanup of cleanups.splice(0)) cleanup();
    vi.restoreAllMocks();
  });

  it('logs each failed attempt and the dead letter', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { module, cleanup } = await importReadmeExample<{ StepAlerts: Type<unknown> }>('Lifecycle events');
    cleanups.push(cleanup);
    db = await createTestDatabase('sqlite');
    @Module({ imports: [StentModule.forRoot({ database: db.options })], providers: [module.StepAlerts, FlakyActivities, NotifyWorkflow] })
    class AppModule {}
    app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const executor = app.get(StentExecutor);
    const outcome = await executor.waitFor(await executor.dispatch(NotifyWorkflow, ['ops']), { timeout: '20s' });
    expect(outcome.state).toBe('failed');
    const lines = (spy: typeof warn) => spy.mock.contexts.flatMap((logger, i) => ((logger as { context?: string }).context === 'StepAlerts' ? [String(spy.mock.calls[i]![0])] : []));
    expect(lines(warn)).toEqual([
      expect.stringMatching(/^FlakyActivities\.send \(execution .+\) failed on attempt 1, will retry: ops does not answer$/),
      expect.stringMatching(/^FlakyActivities\.send \(execution .+\) failed on attempt 2: ops does not answer$/),
    ]);
    expect(lines(error)).toEqual([expect.stringMatching(/^FlakyActivities\.send \(execution .+\) is in the dead-letter queue: attempts exhausted$/)]);
  });
});
