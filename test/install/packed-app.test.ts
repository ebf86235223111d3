/**
 * A new Nest application, as a user makes one: it installs the packed library (npm pack, then npm
 * install of the tarball) beside one database driver only, compiles the README's full example
 * (sample/full-example) with its own tsconfig, starts it and runs it to the end; the package's `stent`
 * bin runs there through npx.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL } from '../support/databases.js';
import { expectFullExampleRun, lastJsonLine } from '../samples/full-example-run.js';

const run = promisify(execFile);
const packageDir = dirname(createRequire(import.meta.url).resolve('nestjs-stent/package.json'));
const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const ourModules = join(repo, 'node_modules');
/** The README's PostgreSQL line of the full example's module, which this app uses instead of the SQLite one. */
const SQLITE_LINE = "database: { type: 'better-sqlite3', database: 'stent.db' },";
const POSTGRES_LINE = "database: { type: 'postgres', url: process.env.DATABASE_URL, schema: 'stent' },";

type Driver = 'better-sqlite3' | 'pg';

describe('a new Nest app that installs the packed library', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-new-app-'));
  let tarball: string;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  const database = `stent_new_app_${process.pid}_${Date.now()}`;

  let packedPaths: string[];

  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: packageDir, timeout: 120_000 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(dir, packed!.filename);
    packedPaths = packed!.files.map((file) => file.path);
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
  }, 180_000);
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The app's folder: its dependencies (this repository's, less the other database's driver) one level up,
   * where npm leaves them alone, the tarball installed offline, and the full example's sources compiled.
   */
  async function newApp(driver: Driver): Promise<string> {
    const root = join(dir, driver);
    const shared = join(root, 'node_modules');
    mkdirSync(shared, { recursive: true });
    const left = driver === 'pg' ? ['better-sqlite3', 'sqlite3'] : ['pg', 'sqlite3'];
    for (const name of readdirSync(ourModules)) {
      if (name === 'nestjs-stent' || name.startsWith('.') || left.includes(name)) continue;
      symlinkSync(realpathSync(join(ourModules, name)), join(shared, name));
    }
    const app = join(root, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'orders-app', version: '1.0.0', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--legacy-peer-deps', tarball], { cwd: app, timeout: 180_000 });

    cpSync(join(repo, 'sample/full-example'), join(app, 'src/full-example'), { recursive: true });
    mkdirSync(join(app, 'src/shared'));
    cpSync(join(repo, 'sample/shared/run-sample.ts'), join(app, 'src/shared/run-sample.ts'));
    if (driver === 'pg') {
      const module = join(app, 'src/full-example/app.module.ts');
      const text = readFileSync(module, 'utf8');
      expect(text).toContain(`// or ${POSTGRES_LINE.replace('database: ', '').replace(/,$/, '')}`);
      writeFileSync(module, text.replace(SQLITE_LINE, POSTGRES_LINE));
    }
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          strict: true,
          skipLibCheck: true,
          rootDir: 'src',
          outDir: 'dist',
          types: ['node'],
        },
        include: ['src'],
      }),
    );
    await run(process.execPath, [join(shared, 'typescript/bin/tsc'), '-p', '.'], { cwd: app, timeout: 180_000 });
    return app;
  }

  async function driverIsMissing(app: string, name: string): Promise<boolean> {
    const probe = `import(${JSON.stringify(name)}).then(() => process.exit(1), () => process.exit(0))`;
    return run(process.execPath, ['--input-type=module', '-e', probe], { cwd: app }).then(
      () => true,
      () => false,
    );
  }

  it('the tarball holds the built code with the bins, README and LICENSE; no sources, tests, build caches or source maps', () => {
    expect(packedPaths).toEqual(expect.arrayContaining(['dist/index.js', 'dist/testing/index.js', 'dist/bin/stent.js', 'dist/bin/wal-checkpoint-thread.js', 'dist/apps/server/main.js', 'README.md', 'LICENSE']));
    expect(packedPaths.some((path) => path.startsWith('src/') || path.startsWith('test/'))).toBe(false);
    expect(packedPaths.some((path) => path.endsWith('.tsbuildinfo') || path.endsWith('.map'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    expect(manifest.bin).toEqual({ stent: './dist/bin/stent.js', 'stent-server': './dist/apps/server/main.js' });
    expect(readFileSync(join(packageDir, 'dist/bin/stent.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('with better-sqlite3 alone (no pg installed): starts, sleeps in its timer on stent.db, and runs to the end', async () => {
    const app = await newApp('better-sqlite3');
    expect(await driverIsMissing(app, 'pg')).toBe(true);
    const started = await run(process.execPath, ['dist/full-example/main.js', 'ord-1'], { cwd: app, timeout: 90_000 });
    expect(started.stdout).toMatch(/execution \S+ \(order ord-1\): running, charged, in a durable timer until/);
    expect(readdirSync(app)).toContain('stent.db');
    const { stdout } = await run(process.execPath, ['dist/full-example/on-a-manual-clock.js'], { cwd: app, timeout: 90_000 });
    expectFullExampleRun(lastJsonLine(stdout));

    // The installed package's bin, as `npx stent`, sees the app's database.
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    const version = await run('npx', ['--no-install', 'stent', '--version'], { cwd: app, timeout: 60_000 });
    expect(version.stdout).toBe(`${manifest.version}\n`);
    const migrate = await run('npx', ['--no-install', 'stent', 'migrate', '--database', 'stent.db'], { cwd: app, timeout: 60_000 });
    expect(migrate.stdout).toBe("Stent's tables are up to date.\n");
    const list = await run('npx', ['--no-install', 'stent', 'list', '--json'], { cwd: app, timeout: 60_000, env: { ...process.env, STENT_DATABASE_URL: join(app, 'stent.db') } });
    expect(JSON.parse(list.stdout)).toMatchObject({ items: [{ workflowName: 'OrderWorkflow', state: 'running' }], total: 1 });
  }, 600_000);

  it('with pg alone (no better-sqlite3 installed): starts on PostgreSQL, sleeps in its timer, and runs to the end', async () => {
    const app = await newApp('pg');
    expect(await driverIsMissing(app, 'better-sqlite3')).toBe(true);
    const url = POSTGRES_URL.replace(/\/[^/?]*(\?|$)/, `/${database}$1`);
    const env = { ...process.env, DATABASE_URL: url };
    const started = await run(process.execPath, ['dist/full-example/main.js', 'ord-1'], { cwd: app, env, timeout: 90_000 });
    expect(started.stdout).toMatch(/execution \S+ \(order ord-1\): running, charged, in a durable timer until/);
    expect(readdirSync(app)).not.toContain('stent.db');
    const stored = new pg.Client({ connectionString: url });
    await stored.connect();
    try {
      const { rows } = await stored.query(`SELECT workflow_name, state FROM stent.stent_executions`);
      expect(rows).toEqual([{ workflow_name: 'OrderWorkflow', state: 'running' }]);
    } finally {
      await stored.end();
    }
    const { stdout } = await run(process.execPath, ['dist/full-example/on-a-manual-clock.js'], {
      cwd: app,
      timeout: 90_000,
      env: { ...env, STENT_DATABASE_URL: url, STENT_DATABASE_SCHEMA: 'stent_manual_clock' },
    });
    expectFullExampleRun(lastJsonLine(stdout));
  }, 600_000);
});
