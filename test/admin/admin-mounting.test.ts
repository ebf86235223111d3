import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Inject, Injectable, Module, UnauthorizedException, type CanActivate, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ConfigurationError, StentAdminModule, StentModule } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { call, FAST, startApp } from './admin-app.js';

const ADMIN_KEY = Symbol('admin key');

/** A guard with a dependency of its own, provided through register({ providers }). */
@Injectable()
class KeyGuard implements CanActivate {
  constructor(@Inject(ADMIN_KEY) private readonly key: string) {}
  canActivate(context: ExecutionContext): boolean {
    if (context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-admin-key'] !== this.key) throw new UnauthorizedException();
    return true;
  }
}

describe.each(DIALECTS)('mounting the admin API on %s', (dialect) => {
  let db: TestDatabase | undefined;
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    await db?.dispose();
    app = db = undefined;
  });

  it('refuses to start with mutating routes and no guard, unless allowUnguarded or readOnly says so', async () => {
    db = await createTestDatabase(dialect);
    const refusal = await startApp(db, {}).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConfigurationError);
    expect(String((refusal as Error).message)).toMatch(/mutating routes .* need a guard.*allowUnguarded: true/);
    // Refused by register() itself, before StentModule opens the database that a failed start would leave open.
    expect(() => StentAdminModule.register({ path: 'ops' })).toThrow(ConfigurationError);

    ({ app } = await startApp(db, { allowUnguarded: true }));
    const open = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    expect((await call(`${open}/stent/executions`, 'GET', undefined, {})).status).toBe(200);
    expect((await call(`${open}/stent/executions`, 'POST', { workflow: 'Checkout', args: ['u'] }, {})).status).toBe(201);
    await app.close();

    const readOnly = await startApp(db, { readOnly: true, path: 'admin' });
    app = readOnly.app;
    expect((await call(`${readOnly.url}/admin/executions`, 'GET', undefined, {})).body.total).toBe(1);
    for (const [method, path] of [['POST', '/admin/executions'], ['POST', '/admin/dead-letters/replay'], ['DELETE', '/admin/dead-letters/x'], ['POST', '/admin/executions/x/cancel']] as const) {
      expect((await call(`${readOnly.url}${path}`, method, {}, {})).status, `${method} ${path}`).toBe(404);
    }
  });

  it('is not reachable at all when not enabled', async () => {
    db = await createTestDatabase(dialect);
    const started = await startApp(db, undefined);
    app = started.app;
    for (const path of ['/stent/executions', '/stent/stats', '/stent/workflows', '/stent/dead-letters']) {
      expect((await call(`${started.url}${path}`, 'GET', undefined, {})).status, path).toBe(404);
    }
    expect((await call(`${started.url}/stent/executions`, 'POST', { workflow: 'Checkout', args: ['x'] }, {})).status).toBe(404);
  });

  it("resolves a guard's dependencies from register({ providers }), and the routes appear in the app's OpenAPI document", async () => {
    db = await createTestDatabase(dialect);
    @Module({ imports: [StentModule.forRoot({ database: db.options, worker: FAST }), StentAdminModule.register({ path: '/ops', guards: [KeyGuard], providers: [{ provide: ADMIN_KEY, useValue: 'k-1' }], openApiSecurity: ['admin-key'] })] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('shop').addApiKey({ type: 'apiKey', in: 'header', name: 'x-admin-key' }, 'admin-key').build());
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    expect((await call(`${url}/ops/stats`, 'GET', undefined, {})).status).toBe(401);
    expect((await call(`${url}/ops/stats`, 'GET', undefined, { 'x-admin-key': 'k-1' })).status).toBe(200);

    const paths = document.paths;
    for (const [path, method] of [
      ['/ops/executions', 'get'],
      ['/ops/executions', 'post'],
      ['/ops/executions/{id}', 'get'],
      ['/ops/executions/{id}/journal', 'get'],
      ['/ops/executions/{id}/cancel', 'post'],
      ['/ops/executions/{id}/signals', 'post'],
      ['/ops/executions/{id}/retry', 'post'],
      ['/ops/executions/{id}/resume', 'post'],
      ['/ops/executions/{id}/fork', 'post'],
      ['/ops/executions/{id}/rewind', 'post'],
      ['/ops/dead-letters', 'get'],
      ['/ops/dead-letters/{id}', 'get'],
      ['/ops/dead-letters/{id}', 'delete'],
      ['/ops/dead-letters/{id}/replay', 'post'],
      ['/ops/dead-letters/replay', 'post'],
      ['/ops/workflows', 'get'],
      ['/ops/workers', 'get'],
      ['/ops/stats', 'get'],
    ] as const) {
      const operation = (paths[path] as Record<string, { tags?: string[]; summary?: string; security?: unknown }> | undefined)?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation!.tags).toEqual(['stent']);
      expect(operation!.security).toEqual([{ 'admin-key': [] }]);
      expect(operation!.summary).toEqual(expect.any(String));
    }
    const list = (paths['/ops/executions'] as Record<string, { parameters: Array<{ name: string }> }>).get!;
    expect(list.parameters.map((parameter) => parameter.name)).toEqual(expect.arrayContaining(['state', 'workflow', 'cursor', 'limit', 'q']));
    const dispatch = (paths['/ops/executions'] as Record<string, { responses: Record<string, unknown> }>).post!;
    expect(Object.keys(dispatch.responses)).toEqual(expect.arrayContaining(['201', '400', '404', '409', '401']));
  });
});

describe('the admin API without @nestjs/swagger', () => {
  it('mounts and serves when the package cannot be imported (a child process where it does not resolve)', async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'stent-noswagger-'));
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [join(here, '../fixtures/admin-without-swagger.js'), join(dir, 'stent.db')], { timeout: 60_000 });
      expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ swaggerLoads: false, stats: 200, dispatched: 201 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
