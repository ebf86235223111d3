import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, ExecutionExistsError, IdempotencyConflictError, type StentExecutor } from 'nestjs-stent';
import { ExecutorSet } from '../support/executor-set.js';
import { capture } from '../support/statement-capture.js';
import { connectPostgres, listenStatement, POSTGRES_URL } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';

/**
 * Dispatches one process makes at once share statements on PostgreSQL (one commit for many executions),
 * and each keeps what it means alone: its own row and arguments, its idempotency key, its own error.
 */

class SharedFlow {
  async run(n: number): Promise<number> {
    return n;
  }
}
defineWorkflow(SharedFlow, { name: 'SharedDispatchFlow' });

class OtherFlow {
  async run(): Promise<string> {
    return 'other';
  }
}
defineWorkflow(OtherFlow, { name: 'SharedDispatchOther' });

const DISPATCHES = 40;
const inserts = (sent: Array<{ sql: string }>) => sent.filter(({ sql }) => /INSERT\s+INTO\s+\S*stent_executions/i.test(sql));

describe('dispatches sharing statements (postgres)', () => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  async function client(): Promise<StentExecutor> {
    set = await ExecutorSet.create('postgres');
    return set.executor([], false);
  }

  it('dispatches made at once go in with fewer statements than dispatches, each with its own row', async () => {
    const executor = await client();
    let ids: string[] = [];
    const sent = await capture(async () => {
      ids = await Promise.all(Array.from({ length: DISPATCHES }, (_, n) => executor.dispatch(SharedFlow, [n])));
    });
    expect(new Set(ids).size).toBe(DISPATCHES);
    const statements = inserts(sent).length;
    // The first goes alone, at once; the others wait for it and go together.
    expect(statements, `${statements} statements for ${DISPATCHES} dispatches`).toBeLessThanOrEqual(DISPATCHES / 4);
    for (const [n, id] of ids.entries()) {
      const execution = await executor.getExecution(id);
      expect(execution).toMatchObject({ id, workflowName: 'SharedDispatchFlow', state: 'pending', args: [n] });
    }
    expect((await executor.listExecutions({ workflowName: 'SharedDispatchFlow' })).total).toBe(DISPATCHES);
  });

  it('a dispatch whose execution id is taken fails alone; the others sharing its statement go in', async () => {
    const executor = await client();
    const taken = await executor.dispatch(SharedFlow, [0]);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, n) => (n === 5 ? executor.dispatch(SharedFlow, [n], { executionId: taken }) : executor.dispatch(SharedFlow, [n]))),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array.from({ length: 12 }, (_, n) => (n === 5 ? 'rejected' : 'fulfilled')));
    expect((outcomes[5] as PromiseRejectedResult).reason).toBeInstanceOf(ExecutionExistsError);
    expect((await executor.getExecution(taken)).args).toEqual([0]);
    expect((await executor.listExecutions({ workflowName: 'SharedDispatchFlow' })).total).toBe(12);
  });

  it('dispatches with one idempotency key in one statement make one execution, the first one; another workflow is refused', async () => {
    const executor = await client();
    const outcomes = await Promise.allSettled([
      executor.dispatch(SharedFlow, [1]),
      executor.dispatch(SharedFlow, [2], { idempotencyKey: 'order-7' }),
      executor.dispatch(SharedFlow, [3], { idempotencyKey: 'order-7' }),
      executor.dispatch(OtherFlow, [], { idempotencyKey: 'order-7' }),
      executor.dispatch(SharedFlow, [4], { idempotencyKey: 'order-7' }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const [, first, second, refused, third] = outcomes;
    const id = (first as PromiseFulfilledResult<string>).value;
    expect((second as PromiseFulfilledResult<string>).value).toBe(id);
    expect((third as PromiseFulfilledResult<string>).value).toBe(id);
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyConflictError);
    expect((await executor.getExecution(id)).args).toEqual([2]);
    expect((await executor.listExecutions({ workflowName: 'SharedDispatchFlow' })).total).toBe(2);
    expect((await executor.listExecutions({ workflowName: 'SharedDispatchOther' })).total).toBe(0);
  });

  it('dispatches made at once are announced to other processes by the statements that insert them, with no NOTIFY of their own', async () => {
    const executor = await client();
    const listener = await connectPostgres(POSTGRES_URL);
    let works = 0;
    try {
      listener.on('notification', (message) => {
        for (const event of (JSON.parse(message.payload ?? '{}') as { e: Array<{ type: string }> }).e) if (event.type === 'work') works++;
      });
      await listener.query(listenStatement(set!.db.schema!));
      const sent = await capture(async () => {
        await Promise.all(Array.from({ length: DISPATCHES }, (_, n) => executor.dispatch(SharedFlow, [n])));
        // The bus sends what it was not told was carried a turn later: wait past it before looking.
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
      });
      expect(inserts(sent).every(({ sql }) => /pg_notify/.test(sql))).toBe(true);
      expect(sent.filter(({ sql }) => /^\s*SELECT pg_notify/i.test(sql))).toEqual([]);
      await waitUntil(() => works >= 1, "the 'work' notification");
      // One a statement at most, not one a dispatch.
      expect(works).toBeLessThanOrEqual(inserts(sent).length);
    } finally {
      await listener.end().catch(() => undefined);
    }
  });
});
