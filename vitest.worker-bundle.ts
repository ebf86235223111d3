import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The programs the process tests spawn (worker-main.js with its fixtures, stream-reader-main.js), bundled
 * into a few files once per run. A process loading the ~300 small modules of dist/ spends most of its
 * start in Node's module loader (0.3-0.4 CPU-s a start; half as much bundled), and the suite starts
 * hundreds. The code is the same tsc output; only the number of files it is read from changes.
 *
 * Each run bundles into a directory of its own (two runs at once never share one) under dist/, where the
 * drivers (better-sqlite3, pg), left outside the bundle, resolve from node_modules as they do for dist/.
 * The tests find it through STENT_TEST_PROGRAMS (see test/support/test-programs.ts); without it they run
 * the files of dist/ directly.
 */
export default async function setup(): Promise<() => void> {
  const root = join(process.cwd(), 'dist', '.test-programs');
  removeLeftovers(root);
  const out = join(root, `${process.pid}-${Date.now().toString(36)}`);
  const remove = () => rmSync(out, { recursive: true, force: true });
  try {
    await bundleInto(out);
  } catch (error) {
    // Slower, not wrong: the tests then run the built files themselves.
    remove();
    console.warn(`vitest.worker-bundle: spawned test programs run unbundled (${String(error)})`);
    return () => undefined;
  }
  process.env.STENT_TEST_PROGRAMS = out;
  return remove;
}

/** Bundles of runs that ended without their teardown (killed): their process is gone. */
function removeLeftovers(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) rmSync(join(root, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function bundleInto(out: string): Promise<void> {
  const tests = join(process.cwd(), 'dist', 'test');
  const input: Record<string, string> = {
    'support/worker-main': join(tests, 'support', 'worker-main.js'),
    'support/stream-reader-main': join(tests, 'support', 'stream-reader-main.js'),
  };
  // worker-main imports its fixture by name from ../fixtures/: every fixture is an entry, at its own path.
  for (const file of readdirSync(join(tests, 'fixtures'))) {
    if (file.endsWith('.js')) input[`fixtures/${file.slice(0, -3)}`] = join(tests, 'fixtures', file);
  }
  // Imported here, so that a machine without it runs the tests unbundled instead of not at all.
  const { rolldown } = await import('rolldown');
  const bundle = await rolldown({
    input,
    platform: 'node',
    // Packages stay imports (resolved from node_modules at run time); the project's own files are bundled.
    external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('#'),
  });
  try {
    await bundle.write({ dir: out, format: 'esm', chunkFileNames: 'shared/[name]-[hash].js', sourcemap: false });
  } finally {
    await bundle.close();
  }
  // The WAL checkpointer starts its thread from the file next to its own module (new URL(..., import.meta.url)):
  // next to whichever bundled file holds that module now.
  const thread = join(process.cwd(), 'libs', 'stent', 'dist', 'persistence', 'wal-checkpoint-thread.js');
  for (const file of readdirSync(out, { recursive: true, encoding: 'utf8' })) {
    if (file.endsWith('.js') && readFileSync(join(out, file), 'utf8').includes('./wal-checkpoint-thread.js')) {
      copyFileSync(thread, join(out, dirname(file), 'wal-checkpoint-thread.js'));
    }
  }
}
