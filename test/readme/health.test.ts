// The README's "Health" example, as written: GET /health reports Stent up over HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import { Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { StentModule } from 'nestjs-stent';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { importReadmeExample } from '../support/readme-example.js';

describe('the README health example, as written', () => {
  let app: INestApplication | undefined;
  let db: TestDatabase | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await app?.close();
    await db?.dispose();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('answers 200 with stent up, and its limits', async () => {
    const { module, cleanup } = await importReadmeExample<{ HealthModule: Type<unknown> }>('Health');
    cleanups.push(cleanup);
    db = await createTestDatabase('sqlite');
    @Module({ imports: [StentModule.forRoot({ database: db.options }), module.HealthModule] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'ok',
      info: { stent: { status: 'up', database: 'up', worker: 'ready', maxBacklogAgeMs: 300_000, deadLetters: 0, maxDeadLetters: 0 } },
    });
  });
});
