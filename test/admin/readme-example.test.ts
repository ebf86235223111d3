import { afterEach, describe, expect, it } from 'vitest';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { call } from './admin-app.js';
import { importReadmeExample } from '../support/readme-example.js';

describe('the README admin example, as written', () => {
  let app: INestApplication | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('mounts the admin API behind its guard', async () => {
    process.env.ADMIN_TOKEN = 'readme-token';
    const { module, cleanup } = await importReadmeExample<{ AppModule: Type<unknown> }>('Admin REST API');
    cleanups.push(cleanup);
    const { AppModule } = module;
    app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    expect((await call(`${url}/stent/stats`, 'GET', undefined, {})).status).toBe(401);
    const stats = await call(`${url}/stent/stats`, 'GET', undefined, { authorization: 'Bearer readme-token' });
    expect(stats).toMatchObject({ status: 200, body: { executions: { pending: 0 }, deadLetters: 0 } });
  });
});
