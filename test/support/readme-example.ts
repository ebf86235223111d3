import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '../../../README.md'), 'utf8');

/** The n-th (from 1) ```ts block of a README section (up to the next `## ` heading). */
export function readmeExample(section: string, n = 1): string {
  const start = readme.indexOf(`## ${section}\n`);
  if (start < 0) throw new Error(`README has no section '## ${section}'`);
  const next = readme.indexOf('\n## ', start + 3);
  const text = readme.slice(start, next < 0 ? undefined : next);
  const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)];
  const block = blocks[n - 1];
  if (!block) throw new Error(`README has no ts example ${n} under '## ${section}' (it has ${blocks.length})`);
  return block[1]!;
}

/** The files of a README section's first ts example, each starting with a `// <path>` line: their text by path. */
export function readmeFiles(section: string): Record<string, string> {
  const files: Record<string, string> = {};
  let path: string | undefined;
  for (const line of readmeExample(section).split('\n')) {
    const header = /^\/\/ (\S+\.ts)$/.exec(line);
    if (header) path = header[1]!;
    else if (path) files[path] = `${files[path] ?? ''}${line}\n`;
  }
  for (const key of Object.keys(files)) files[key] = `${files[key]!.trimEnd()}\n`;
  return files;
}

export interface ReadmeImportOptions {
  /** Which ts block of the section (from 1; default 1). */
  block?: number;
  /** The folder the compiled module is written to, for its relative imports (default: next to this file). */
  dir?: string;
  /** The path its SQLite file is moved to (default: a new temp dir). */
  database?: string;
}

/**
 * Imports a README section's example compiled as the README shows it, written next to the tests (or in
 * `dir`) so that 'nestjs-stent' resolves; only its SQLite file (`database: '<name>.db'`) moves to a temp
 * dir. `cleanup` removes both. `dbFile` is where the SQLite file went.
 */
export async function importReadmeExample<M>(section: string, options: ReadmeImportOptions = {}): Promise<{ module: M; cleanup: () => void; dbFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'stent-readme-'));
  let dbFile = join(dir, 'app.db');
  const source = readmeExample(section, options.block).replace(/database: '([\w-]+\.db)'/, (_, name: string) => `database: ${JSON.stringify((dbFile = options.database ?? join(dir, name)))}`);
  const { outputText } = ts.transpileModule(`import 'reflect-metadata';\n${source}`, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true, useDefineForClassFields: false },
  });
  const file = join(options.dir ?? here, `readme-${section.toLowerCase().replace(/[^a-z]+/g, '-')}-${options.block ?? 1}-${process.pid}.mjs`);
  writeFileSync(file, outputText);
  const cleanup = () => {
    rmSync(file, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    return { module: (await import(pathToFileURL(file).href)) as M, cleanup, dbFile };
  } catch (error) {
    cleanup();
    throw error;
  }
}
