import { afterEach, describe, expect, it } from 'vitest';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { importReadmeExample } from '../support/readme-example.js';

describe('the README dashboard example, as written', () => {
  let app: INestApplication | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await app?.close();
    app = undefined;
    delete process.env.STENT_DASHBOARD_PASSWORD;
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('asks the browser for basic auth and serves the page and the API with the password', async () => {
    process.env.STENT_DASHBOARD_PASSWORD = 'change-me';
    const { module, cleanup } = await importReadmeExample<{ AppModule: Type<unknown> }>('Dashboard');
    cleanups.push(cleanup);
    const { AppModule } = module;
    app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');

    const challenged = await fetch(`${url}/stent/ui`);
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('www-authenticate')).toBe('Basic realm="stent"');
    const wrong = { authorization: `Basic ${Buffer.from('ops:guess').toString('base64')}` };
    expect((await fetch(`${url}/stent/ui`, { headers: wrong })).status).toBe(401);
    const right = { authorization: `Basic ${Buffer.from('ops:change-me').toString('base64')}` };
    const page = await fetch(`${url}/stent/ui`, { headers: right });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-api="/stent"');
    expect((await fetch(`${url}/stent/stats`, { headers: right })).status).toBe(200);
  });
});
