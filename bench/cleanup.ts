import type { ChildProcess } from 'node:child_process';

/**
 * Process-wide safety net: every worker child and every temporary database is registered here so that
 * an error, Ctrl-C or a crash of the benchmark never leaves processes or schemas behind.
 */
const children = new Set<ChildProcess>();
const disposers = new Set<() => Promise<void>>();
let installed = false;

export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Synchronous, so it also works inside an 'exit' handler. */
export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

/** Registers an async clean-up (dropping a schema, removing a directory); returns its unregister function. */
export function onCleanup(dispose: () => Promise<void>): () => void {
  disposers.add(dispose);
  return () => disposers.delete(dispose);
}

/** Kills the children, then runs the pending clean-ups (each bounded by a time limit). */
export async function cleanUpEverything(): Promise<void> {
  killAllChildren();
  const pending = [...disposers];
  disposers.clear();
  await Promise.all(
    pending.map((dispose) =>
      Promise.race([dispose().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref())]),
    ),
  );
}

/** Installs the exit, signal and crash handlers once. */
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`[bench] ${signal}: stopping worker processes and removing temporary databases\n`);
      void cleanUpEverything().finally(() => process.exit(130));
    });
  }
  const crash = (error: unknown): void => {
    process.stderr.write(`[bench] fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    void cleanUpEverything().finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
