import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, defineActivity, defineWorkflow } from 'nestjs-stent';
import { BACKENDS } from '../support/databases.js';
import { ExecutorSet, rejectionOf } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/**
 * An application's calls do not stop because the executor is closing (a request handled during a
 * deploy's shutdown, a poll of a result). Each such call must end, with its answer or with a clear error,
 * and close() must still close the database: on the sqlite3 driver, a read that came in during close()
 * once waited forever on a statement close() had finalized, or prepared a new one that kept the
 * connection (and the file) open.
 */

class EchoActs {
  async echo(n: number): Promise<number> {
    return n;
  }
}
defineActivity(EchoActs);

class EchoFlow {
  constructor(private readonly acts: EchoActs) {}
  async run(n: number): Promise<number> {
    return this.acts.echo(n);
  }
}
defineWorkflow(EchoFlow);

describe.each(BACKENDS)('calls made while the executor closes (%s)', (backend) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('each ends with its answer or a typed error, and close() still closes the database', async () => {
    set = await ExecutorSet.create(backend);
    const executor = await set.executor([new EchoActs(), new EchoFlow(new EchoActs())]);
    const id = await executor.dispatch(EchoFlow, [7]);
    expect((await executor.waitFor(id, { timeout: '20s' })).value).toBe(7);

    let stop = false;
    let answered = 0;
    let pending = 0;
    const refusals: unknown[] = [];
    // Several callers, each with one read at a time, yielding to the event loop between reads.
    const callers = Array.from({ length: 4 }, async (_, caller) => {
      while (!stop) {
        pending++;
        try {
          if (caller % 2 === 0) await executor.listExecutions({}, { limit: 5 });
          else await executor.getExecution(id);
          answered++;
        } catch (error) {
          refusals.push(error);
        } finally {
          pending--;
        }
        await nextTurn();
      }
    });
    await waitUntil(() => answered >= 8, 'the callers to be answered a few times');

    await executor.close('5s');
    stop = true;
    await waitUntil(() => pending === 0, 'every call made during close() to end', 15_000);
    await Promise.all(callers);

    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(ConfigurationError);
      expect(refusal).toMatchObject({ code: 'STENT_INVALID_CONFIGURATION', message: 'This Stent store is closed' });
    }
    expect(await rejectionOf(executor.getExecution(id))).toMatchObject({ code: 'STENT_INVALID_CONFIGURATION', message: 'This Stent store is closed' });
    // dispose() fails if the SQLite file, its -wal or its -shm is still open in this process.
    const disposing = set;
    set = undefined;
    await disposing.dispose();
  });
});
