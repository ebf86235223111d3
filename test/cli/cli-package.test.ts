import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = dirname(createRequire(import.meta.url).resolve('nestjs-stent/package.json'));

describe('the npm package ships the stent bin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-pack-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('npm pack holds dist/cli with a bin entry; installed in a project, `npx stent` runs it', async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: packageDir, timeout: 120_000 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string; mode: number }> }>;
    const paths = packed!.files.map((file) => file.path);
    expect(paths).toContain('dist/cli/main.js');
    expect(paths).toContain('dist/cli/run.js');
    expect(paths.some((path) => path.startsWith('src/') || path.startsWith('test/'))).toBe(false);
    // README and LICENSE ship; build caches and source maps do not.
    expect(paths).toEqual(expect.arrayContaining(['README.md', 'LICENSE']));
    expect(paths.some((path) => path.endsWith('.tsbuildinfo') || path.endsWith('.map'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    expect(manifest.bin).toEqual({ stent: './dist/cli/main.js', 'stent-server': './dist/apps/server/main.js' });
    expect(readFileSync(join(packageDir, 'dist/cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);

    // A user's project: the peer dependencies it has (from this repository's node_modules, one level up so
    // npm leaves them alone) and the tarball installed the ordinary way, offline.
    const shared = join(dir, 'node_modules');
    mkdirSync(shared);
    const ours = join(packageDir, '..', '..', 'node_modules');
    for (const name of readdirSync(ours)) {
      if (name === 'nestjs-stent' || name.startsWith('.')) continue;
      symlinkSync(realpathSync(join(ours, name)), join(shared, name));
    }
    const project = join(dir, 'app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--legacy-peer-deps', join(dir, packed!.filename)], { cwd: project, timeout: 180_000 });

    const version = await run('npx', ['--no-install', 'stent', '--version'], { cwd: project, timeout: 60_000 });
    expect(version.stdout).toBe(`${manifest.version}\n`);
    const migrate = await run('npx', ['--no-install', 'stent', 'migrate', '--database', 'app.db'], { cwd: project, timeout: 60_000 });
    expect(migrate.stdout).toBe("Stent's tables are up to date.\n");
    const list = await run('npx', ['--no-install', 'stent', 'list', '--json'], { cwd: project, timeout: 60_000, env: { ...process.env, STENT_DATABASE_URL: join(project, 'app.db') } });
    expect(JSON.parse(list.stdout)).toMatchObject({ items: [], total: 0 });
  });
});
