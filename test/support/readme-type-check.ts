import { rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { readmeExample } from './readme-example.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ReadmeBlock {
  section: string;
  /** Which ts block of the section (from 1). */
  block: number;
  /** Where the block is written for checking: its relative imports resolve from there (the built .d.ts files). */
  dir: string;
}

/**
 * Type-checks README blocks as written, in one program with the project's compiler options (strict, the
 * package's published types): the errors, each prefixed with its section and block; none when they compile.
 */
export function readmeTypeErrors(blocks: ReadmeBlock[]): string[] {
  const config = ts.readConfigFile(join(root, 'tsconfig.base.json'), (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const files = new Map<string, ReadmeBlock>();
  for (const block of blocks) {
    const file = join(block.dir, `readme-check-${block.section.toLowerCase().replace(/[^a-z]+/g, '-')}-${block.block}-${process.pid}.ts`);
    writeFileSync(file, readmeExample(block.section, block.block));
    files.set(file, block);
  }
  try {
    const program = ts.createProgram([...files.keys()], { ...options, noEmit: true, composite: false, declaration: false, sourceMap: false });
    return [...files].flatMap(([file, block]) => {
      const source = program.getSourceFile(file)!;
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => {
        const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line + 1;
        return `${block.section} #${block.block}, line ${line} (${basename(file)}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    });
  } finally {
    for (const file of files.keys()) rmSync(file, { force: true });
  }
}
