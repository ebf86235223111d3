// The `stent` bin as one file (dist/bin/stent.js), built by the root build after tsc -b. Run from the
// ~240 small modules tsc emits, each start of the CLI spent most of its time in Node's module loader
// (0.33 CPU-s for `stent list`); read from one file it starts in about half. The code is the same tsc
// output: packages (drivers, TypeORM, Nest) and Node builtins stay imports, resolved from node_modules at
// run time; only the package's own files are joined.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const out = join(dist, 'bin');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const bundle = await rolldown({
  input: join(dist, 'cli', 'main.js'),
  platform: 'node',
  // Bare specifiers are packages or builtins (`node:fs`): left to the runtime, like every dependency.
  external: (id) => !id.startsWith('.') && !id.startsWith('/'),
});
try {
  // One file: the dynamic import of the database code (which help and usage errors never reach) stays lazy
  // inside it, evaluated only when a command opens the database.
  await bundle.write({ file: join(out, 'stent.js'), format: 'esm', codeSplitting: false, sourcemap: false });
} finally {
  await bundle.close();
}
// The WAL checkpointer starts its thread from the file next to its own module (new URL(..., import.meta.url)),
// now this bundle; the thread imports only Node builtins and the driver, so a copy runs as is.
copyFileSync(join(dist, 'persistence', 'wal-checkpoint-thread.js'), join(out, 'wal-checkpoint-thread.js'));
