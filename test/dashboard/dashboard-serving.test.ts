import { afterEach, describe, expect, it } from 'vitest';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { StentAdminModule, StentModule } from 'nestjs-stent';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { SessionGuard, SESSION_COOKIE } from './dashboard-app.js';

const COOKIE = { cookie: `${SESSION_COOKIE.name}=${SESSION_COOKIE.value}` };

// How the dashboard is served does not depend on the database: SQLite only (the browser tests cover both).
describe('serving the dashboard', () => {
  let db: TestDatabase | undefined;
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    await db?.dispose();
    app = db = undefined;
  });

  async function start(admin: Parameters<typeof StentAdminModule.register>[0], prefix?: string): Promise<string> {
    db = await createTestDatabase('sqlite');
    @Module({ imports: [StentModule.forRoot({ database: db.options, worker: false }), StentAdminModule.register(admin)] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    if (prefix) app.setGlobalPrefix(prefix);
    await app.listen(0, '127.0.0.1');
    return (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }

  it('serves the page with the API address the browser sees (global prefix kept), its files from the build, a strict CSP', async () => {
    const url = await start({ path: '/ops/stent', guards: [SessionGuard] }, 'api');
    let version = '';
    for (const path of ['/api/ops/stent/ui', '/api/ops/stent/ui/']) {
      const response = await fetch(`${url}${path}`, { headers: COOKIE });
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await response.text();
      expect(html).toContain('data-api="/api/ops/stent"');
      expect(html).toContain('data-read-only="false"');
      version = /\/api\/ops\/stent\/ui\/assets\/([0-9a-f]{12})\/main\.js/.exec(html)?.[1] ?? '';
      expect(html).toContain(`<script type="module" src="/api/ops/stent/ui/assets/${version}/main.js">`);
      expect(html).not.toMatch(/\{\{\w+\}\}/);
      expect(html).toContain(`<link rel="modulepreload" href="/api/ops/stent/ui/assets/${version}/pages/timeline.js" />`);
    }
    // Every module the entry imports (and theirs) is served, with its type: the page works offline from the package alone.
    const seen = new Set<string>();
    const queue = ['main.js'];
    while (queue.length) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const response = await fetch(`${url}/api/ops/stent/ui/assets/${version}/${name}`, { headers: COOKIE });
      expect(response.status, name).toBe(200);
      expect(response.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const source = await response.text();
      for (const [, spec] of source.matchAll(/from '(\.{1,2}\/[^']+)'/g)) queue.push(new URL(spec!, `http://x/${name}`).pathname.slice(1));
    }
    expect([...seen]).toEqual(expect.arrayContaining(['main.js', 'pages/overview.js', 'pages/execution.js', 'pages/timeline.js', 'pages/dead-letters.js', 'pages/workflows.js']));
    const css = await fetch(`${url}/api/ops/stent/ui/assets/${version}/dashboard.css`, { headers: COOKIE });
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    expect(await css.text()).toContain('prefers-color-scheme: dark');
    // Only the built files of this version: no other name, no path outside them, no other version.
    for (const path of [`${version}/nope.js`, `${version}/index.html`, `${version}/..%2Fpackage.json`, `${version}/pages/..%2F..%2Fnest%2Findex.js`, '000000000000/main.js', 'main.js']) {
      expect((await fetch(`${url}/api/ops/stent/ui/assets/${path}`, { headers: COOKIE })).status, path).toBe(404);
    }
    // Behind the guard like the API.
    const refused = await fetch(`${url}/api/ops/stent/ui`);
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain('data-api');
    expect((await fetch(`${url}/api/ops/stent/ui/assets/${version}/main.js`)).status).toBe(401);
  });

  it('read-only: the page knows it (no actions) and the mutating routes are absent', async () => {
    const url = await start({ readOnly: true });
    const html = await (await fetch(`${url}/stent/ui`)).text();
    expect(html).toContain('data-read-only="true"');
    expect((await fetch(`${url}/stent/executions/x/cancel`, { method: 'POST' })).status).toBe(404);
  });

  it('dashboard: false mounts the API alone; the dashboard stays out of the OpenAPI document', async () => {
    const url = await start({ guards: [SessionGuard], dashboard: false });
    expect((await fetch(`${url}/stent/ui`, { headers: COOKIE })).status).toBe(404);
    expect((await fetch(`${url}/stent/stats`, { headers: COOKIE })).status).toBe(200);
    await app!.close();
    await db!.dispose();
    db = await createTestDatabase('sqlite');
    @Module({ imports: [StentModule.forRoot({ database: db.options, worker: false }), StentAdminModule.register({ guards: [SessionGuard] })] })
    class WithSwagger {}
    app = await NestFactory.create(WithSwagger, { logger: false, abortOnError: false });
    const paths = Object.keys(SwaggerModule.createDocument(app, new DocumentBuilder().build()).paths);
    expect(paths).toContain('/stent/stats');
    expect(paths.filter((path) => path.includes('/ui'))).toEqual([]);
  });
});
