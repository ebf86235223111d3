import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '../../../README.md'), 'utf8');

/** The first ```ts block of a README section. */
export function readmeExample(section: string): string {
  const start = readme.indexOf(`## ${section}\n`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  if (start < 0 || !block) throw new Error(`README has no ts example under '## ${section}'`);
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

/**
 * Imports a README section's example compiled as the README shows it, written next to the tests so that
 * 'nestjs-stent' resolves; only its SQLite file (`database: 'app.db'`) moves to a temp dir. `cleanup` removes both.
 */
export async function importReadmeExample<M>(section: string): Promise<{ module: M; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'stent-readme-'));
  const source = readmeExample(section).replace("database: 'app.db'", `database: ${JSON.stringify(join(dir, 'app.db'))}`);
  const { outputText } = ts.transpileModule(`import 'reflect-metadata';\n${source}`, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true, useDefineForClassFields: false },
  });
  const file = join(here, `readme-${section.toLowerCase().replace(/[^a-z]+/g, '-')}-${process.pid}.mjs`);
  writeFileSync(file, outputText);
  const cleanup = () => {
    rmSync(file, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    return { module: (await import(pathToFileURL(file).href)) as M, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}
