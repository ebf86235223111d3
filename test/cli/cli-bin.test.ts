/**
 * The package's `stent` bin is one file (dist/bin/stent.js, bundled by libs/stent/scripts/bundle-cli.mjs):
 * a start reads it instead of the ~240 modules tsc emits, which was most of a start's CPU. These tests
 * hold the two things the bundling can break: that a command really loads no other file of the package,
 * and that the files the code finds next to its own module still are next to it.
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runStent, stentBin } from '../support/stent-cli.js';

describe('the stent bin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-cli-bin-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the bin with module hooks that write every module URL Node loads, one a line, to a file. */
  async function loadedBy(name: string, args: string[]): Promise<{ code: number | null; urls: string[] }> {
    const log = join(dir, `${name}.log`);
    const hooks = join(dir, `${name}-hooks.mjs`);
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';\n` +
        `export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }\n`,
    );
    const register = join(dir, `${name}-register.mjs`);
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    writeFileSync(log, '');
    const run = await runStent(args, { NODE_OPTIONS: `--import ${pathToFileURL(register).href}` });
    return { code: run.code, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  }

  it('a command that opens the database loads no module of the package but the bin itself', async () => {
    const database = join(dir, 'one-file.db');
    expect((await runStent(['migrate', '--database', database])).code).toBe(0);
    const bin = pathToFileURL(realpathSync(stentBin())).href;
    const packageDist = pathToFileURL(join(realpathSync(dirname(dirname(stentBin()))), '/')).href;
    for (const args of [['list', '--database', database, '--json'], ['--help']]) {
      const { code, urls } = await loadedBy(args[0]!.replace(/^-+/, ''), args);
      expect(code).toBe(0);
      // The hooks saw the bin itself (else they saw nothing, and the check below would prove nothing).
      expect(urls).toContain(bin);
      expect(urls.filter((url) => url.startsWith(packageDist))).toEqual([bin]);
    }
  });

  it('every file the bundled code opens next to its own module (new URL(..., import.meta.url)) ships next to the bin', () => {
    const source = readFileSync(stentBin(), 'utf8');
    const relative = [...source.matchAll(/new URL\(\s*["'`]([^"'`]+)["'`]\s*,\s*import\.meta\.url\s*\)/g)].map((match) => match[1]!);
    // The version (../../package.json) and the WAL checkpointer's thread at least.
    expect(relative).toEqual(expect.arrayContaining(['../../package.json', './wal-checkpoint-thread.js']));
    for (const path of relative) expect(existsSync(join(dirname(stentBin()), path)), path).toBe(true);
  });
});
