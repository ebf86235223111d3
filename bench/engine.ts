import { StentExecutor, createStentStore, type StentDatabaseOptions, type WorkerOptions, type WorkflowRef } from 'nestjs-stent';
import { benchInstances } from './workflows.js';

/** An executor on `database` with every benchmark class registered; `worker: false` only dispatches. */
export async function openExecutor(database: StentDatabaseOptions, worker: WorkerOptions | false): Promise<StentExecutor> {
  const store = await createStentStore({ database });
  const executor = new StentExecutor({ store, worker });
  executor.register(...benchInstances());
  try {
    await executor.start();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return executor;
}

/** Closes an executor, logging instead of throwing (used in finally blocks). */
export async function closeQuietly(executor: StentExecutor | undefined): Promise<void> {
  if (!executor) return;
  try {
    await executor.close('10s');
  } catch (error) {
    process.stderr.write(`[bench] closing an executor failed: ${String(error)}\n`);
  }
}

/**
 * Dispatches one execution per argument list, `parallel` at a time (PostgreSQL gains from a few
 * dispatches in flight; better-sqlite3 is synchronous anyway). Returns the ids in argument order.
 */
export async function dispatchMany<W>(executor: StentExecutor, workflow: WorkflowRef<W>, argLists: unknown[][], parallel: number): Promise<string[]> {
  const ids = new Array<string>(argLists.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < argLists.length) {
      const index = next++;
      ids[index] = await executor.dispatch(workflow, argLists[index] as never);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, argLists.length)) }, lane));
  return ids;
}

/**
 * Runs `argLists.length` executions of `workflow` to their end, untimed, before a case's timed run: worker
 * processes compile the engine's code as they go, and a timed run that includes it measures how many
 * processes compile rather than how fast they run. Call it first: it waits for that many final executions
 * of the workflow's name.
 */
export async function warmUp(executor: StentExecutor, workflow: WorkflowRef<unknown> & { name: string }, argLists: unknown[][], parallel: number, timeoutMs: number): Promise<void> {
  await dispatchMany(executor, workflow, argLists, parallel);
  await waitForAllFinal(executor, workflow.name, argLists.length, timeoutMs);
}

const FINAL = ['completed', 'failed', 'cancelled', 'timed_out'] as const;

/**
 * Executions of `workflowName` in a final state, and how many of them failed in some way. The completed
 * ones are counted after the final ones, not beside them: counted at once on two connections, an execution
 * completing in between could be seen final by one count and not yet completed by the other, and reported
 * as failed. Final states never change, so counted in this order every final one is seen by both.
 */
export async function countFinal(executor: StentExecutor, workflowName: string): Promise<{ final: number; notCompleted: number }> {
  const final = await executor.listExecutions({ workflowName, state: [...FINAL] }, { limit: 1 });
  const completed = await executor.listExecutions({ workflowName, state: 'completed' }, { limit: 1 });
  return { final: final.total, notCompleted: final.total - completed.total };
}

/** Longest pause between two polls of waitForAllFinal, in poll intervals. */
const MAX_POLL_INTERVALS = 8;

/**
 * Polls until `expected` executions of `workflowName` are final: a count of those not final yet (pending or
 * running), and the final ones counted once when none is left (not one waitFor per execution). Polls come
 * closer together as the end nears: each waits half the time the last rate says is left (between `pollMs`
 * and MAX_POLL_INTERVALS of them), so the end is still seen within about `pollMs`. Counting the final ones
 * 40 times a second read every execution of the workflow, warm-up included, at each: in `flow_limits`
 * about a second of the server's time in a 3-second run, taken from the workers measured, and more the
 * slower the variant. Throws with the counts reached when `timeoutMs` passes first, or sooner when no
 * execution has become final for `stallMs` (work the engine lost track of never finishes).
 */
export async function waitForAllFinal(executor: StentExecutor, workflowName: string, expected: number, timeoutMs: number, pollMs = 25, stallMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastUnfinished = -1;
  let lastProgressAt = Date.now();
  let previous: { at: number; unfinished: number } | undefined;
  for (;;) {
    const unfinished = (await executor.listExecutions({ workflowName, state: ['pending', 'running'] }, { limit: 1 })).total;
    let final: number | undefined;
    if (unfinished === 0) {
      const counted = await countFinal(executor, workflowName);
      final = counted.final;
      if (final >= expected) {
        if (counted.notCompleted > 0) throw new Error(`${counted.notCompleted} of ${expected} ${workflowName} executions ended in a state other than completed`);
        return;
      }
    }
    const now = Date.now();
    if (unfinished !== lastUnfinished) {
      lastUnfinished = unfinished;
      lastProgressAt = now;
    }
    const reached = async () => final ?? (await countFinal(executor, workflowName)).final;
    if (now - lastProgressAt > stallMs) throw new Error(`stalled: no ${workflowName} execution became final for ${stallMs / 1000}s; ${await reached()} of ${expected} are final`);
    if (now > deadline) throw new Error(`timed out after ${timeoutMs} ms: only ${await reached()} of ${expected} ${workflowName} executions are final`);
    let wait = pollMs;
    if (previous && previous.unfinished > unfinished && now > previous.at) {
      const left = unfinished / ((previous.unfinished - unfinished) / (now - previous.at));
      wait = Math.min(MAX_POLL_INTERVALS * pollMs, Math.max(pollMs, left / 2));
    }
    previous = { at: now, unfinished };
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** A few executions of `workflowName` that are not final yet, with their journals: for error messages. */
export async function describeUnfinished(executor: StentExecutor, workflowName: string, limit = 3): Promise<string> {
  const page = await executor.listExecutions({ workflowName, state: ['pending', 'running'] }, { limit });
  const lines = await Promise.all(
    page.items.map(async (item) => {
      const journal = await executor.getJournal(item.id);
      const steps = journal.map((s) => `#${s.position} ${s.kind} ${s.name} ${s.state} attempts=${s.attempts}`).join('; ');
      const at = (d: Date | null): string => (d ? d.toISOString() : 'null');
      return `  ${item.id} state=${item.state} leaseOwner=${item.leaseOwner} wakeAt=${at(item.wakeAt)} updatedAt=${at(item.updatedAt)} recoveries=${item.recoveries} journal: [${steps}]`;
    }),
  );
  return `${page.total} unfinished ${workflowName} execution(s) (now ${new Date().toISOString()})${lines.length ? `:\n${lines.join('\n')}` : ''}`;
}

/** Reads every completed execution of `workflowName` and checks its result (outside any timing). */
export async function verifyResults(executor: StentExecutor, workflowName: string, expected: (args: unknown[]) => unknown): Promise<number> {
  let checked = 0;
  for (let offset = 0; ; offset += 1000) {
    const page = await executor.listExecutions({ workflowName }, { limit: 1000, offset });
    for (const item of page.items) {
      const want = expected(item.args);
      const got = item.result?.ok ? item.result.value : item.result?.error;
      if (item.state !== 'completed' || got !== want) {
        throw new Error(`${workflowName} ${item.id} (args ${JSON.stringify(item.args)}): expected completed with ${JSON.stringify(want)}, got ${item.state} with ${String(got)}`);
      }
      checked++;
    }
    if (page.items.length < 1000) return checked;
  }
}
