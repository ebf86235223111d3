import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '../../../README.md'), 'utf8');

/** The first ```ts block of a README section. */
function example(section: string): string {
  const start = readme.indexOf(`## ${section}\n`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  if (start < 0 || !block) throw new Error(`README has no ts example under '## ${section}'`);
  return block[1]!;
}

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
    const dir = mkdtempSync(join(tmpdir(), 'stent-readme-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const source = example('Dashboard').replace("database: 'app.db'", `database: ${JSON.stringify(join(dir, 'app.db'))}`);
    const { outputText } = ts.transpileModule(`import 'reflect-metadata';\n${source}`, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true, useDefineForClassFields: false },
    });
    const file = join(here, `readme-dashboard-example-${process.pid}.mjs`);
    writeFileSync(file, outputText);
    cleanups.push(() => rmSync(file, { force: true }));
    process.env.STENT_DASHBOARD_PASSWORD = 'change-me';
    const { AppModule } = (await import(pathToFileURL(file).href)) as { AppModule: Type<unknown> };
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
