import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import ts from 'typescript';
import { call } from './admin-app.js';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '../../../README.md'), 'utf8');

/** The first ```ts block of a README section. */
function example(section: string): string {
  const start = readme.indexOf(`## ${section}\n`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  if (start < 0 || !block) throw new Error(`README has no ts example under '## ${section}'`);
  return block[1]!;
}

describe('the README admin example, as written', () => {
  let app: INestApplication | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('mounts the admin API behind its guard', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stent-readme-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // Compiled as the README shows it, next to the tests so 'nestjs-stent' resolves; only the SQLite file moves to a temp dir.
    const source = example('Admin REST API').replace("database: 'app.db'", `database: ${JSON.stringify(join(dir, 'app.db'))}`);
    const { outputText } = ts.transpileModule(`import 'reflect-metadata';\n${source}`, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true, useDefineForClassFields: false },
    });
    const file = join(here, `readme-admin-example-${process.pid}.mjs`);
    writeFileSync(file, outputText);
    cleanups.push(() => rmSync(file, { force: true }));
    process.env.ADMIN_TOKEN = 'readme-token';
    const { AppModule } = (await import(pathToFileURL(file).href)) as { AppModule: Type<unknown> };
    app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    expect((await call(`${url}/stent/stats`, 'GET', undefined, {})).status).toBe(401);
    const stats = await call(`${url}/stent/stats`, 'GET', undefined, { authorization: 'Bearer readme-token' });
    expect(stats).toMatchObject({ status: 200, body: { executions: { pending: 0 }, deadLetters: 0 } });
  });
});
