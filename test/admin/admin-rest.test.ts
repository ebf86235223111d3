import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/databases.js';
import { AUTH, billing, call } from './admin-app.js';
import { guardedAdmin } from './guarded-admin.js';

describe.each(DIALECTS)('admin REST API on %s', (dialect) => {
  const open = guardedAdmin(dialect);

  it('serves every route: dispatch, list, detail, journal, signal, dead letters, replay, retry, resume, cancel, discard, registry, workers, stats', async () => {
    const { base, settled } = await open();
    const created = await call(`${base}/executions`, 'POST', { workflow: 'Approval', args: ['o-1', 25], options: { tags: ['vip'], idempotencyKey: 'o-1' } });
    expect(created).toMatchObject({ status: 201, body: { id: expect.any(String), workflowName: 'Approval' } });
    const id = created.body.id as string;
    // The same idempotency key for the same workflow answers with the same execution.
    expect((await call(`${base}/executions`, 'POST', { workflow: 'Approval', args: ['o-1', 25], options: { idempotencyKey: 'o-1' } })).body.id).toBe(id);

    const listed = await call(`${base}/executions?workflow=Approval&state=pending,running&tag=vip&limit=10`);
    expect(listed).toMatchObject({ status: 200, body: { total: 1, limit: 10, offset: 0, nextCursor: null, items: [{ id, workflowName: 'Approval', args: ['o-1', 25] }] } });
    expect(listed.body.items[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect((await call(`${base}/executions?q=${id.slice(0, 8)}`)).body.items.map((item: { id: string }) => item.id)).toEqual([id]);

    expect(await call(`${base}/executions/${id}/signals`, 'POST', { name: 'approve', payload: { by: 'ann' } })).toMatchObject({ status: 202, body: { id, signal: 'approve', accepted: true } });
    await settled(id, 'failed');
    const detail = await call(`${base}/executions/${id}`);
    expect(detail).toMatchObject({
      status: 200,
      body: { id, state: 'failed', progress: { approvedBy: 'ann' }, error: { name: 'ActivityFailedError', code: 'STENT_ACTIVITY_FAILED', stack: expect.any(String) }, parent: null, children: [] },
    });
    const journal = await call(`${base}/executions/${id}/journal`);
    expect(journal.status).toBe(200);
    expect(journal.body.total).toBe(journal.body.items.length);
    expect(journal.body.items.map((step: { kind: string; name: string; state: string }) => [step.kind, step.name, step.state])).toEqual(
      expect.arrayContaining([
        ['signal', 'approve', 'completed'],
        ['activity', 'PaymentActs.charge', 'failed'],
      ]),
    );
    const failedStep = journal.body.items.find((step: { kind: string }) => step.kind === 'activity');
    expect(failedStep).toMatchObject({ attempts: 1, error: { message: 'gateway refused o-1' }, finishedAt: expect.any(String) });
    expect((await call(`${base}/executions/${id}/journal?limit=1&offset=0`)).body.items).toHaveLength(1);

    const letters = await call(`${base}/dead-letters?executionId=${id}`);
    expect(letters).toMatchObject({ status: 200, body: { total: 1, items: [{ executionId: id, name: 'PaymentActs.charge', args: ['o-1', 25] }] } });
    const letterId = letters.body.items[0].id as string;
    expect(await call(`${base}/dead-letters/${letterId}`)).toMatchObject({ status: 200, body: { id: letterId, workflowName: 'Approval', executionState: 'failed', error: { message: 'gateway refused o-1' } } });

    billing.works = true;
    expect(await call(`${base}/dead-letters/${letterId}/replay`, 'POST')).toMatchObject({ status: 200, body: { id: letterId, executionId: id } });
    await settled(id, 'completed');
    expect((await call(`${base}/executions/${id}`)).body).toMatchObject({ state: 'completed', output: 'charged 25 for o-1', result: { ok: true, value: 'charged 25 for o-1' } });

    // retry and resume of failed executions; bulk replay by ids and of all; discard.
    billing.works = false;
    const failing = [];
    for (const order of ['r-1', 'r-2', 'b-1', 'b-2', 'b-3', 'd-1']) failing.push((await call(`${base}/executions`, 'POST', { workflow: 'Checkout', args: [order] })).body.id as string);
    for (const failed of failing) await settled(failed, 'failed');
    billing.works = true;
    expect(await call(`${base}/executions/${failing[0]}/retry`, 'POST')).toMatchObject({ status: 200, body: { id: failing[0] } });
    expect(await call(`${base}/executions/${failing[1]}/resume`, 'POST')).toMatchObject({ status: 200, body: { id: failing[1] } });
    await settled(failing[0]!, 'completed');
    await settled(failing[1]!, 'completed');
    const letterOf = async (executionId: string) => (await call(`${base}/dead-letters?executionId=${executionId}`)).body.items[0]?.id as string | undefined;
    const chosen = await call(`${base}/dead-letters/replay`, 'POST', { ids: [await letterOf(failing[2]!), 'no-such-letter'] });
    expect(chosen).toMatchObject({ status: 200, body: { replayed: [{ executionId: failing[2] }], failed: [{ id: 'no-such-letter', error: { code: 'STENT_DEAD_LETTER_NOT_FOUND' } }] } });
    const discardId = (await letterOf(failing[5]!))!;
    expect(await call(`${base}/dead-letters/${discardId}`, 'DELETE')).toMatchObject({ status: 200, body: { id: discardId, discarded: true } });
    expect((await call(`${base}/dead-letters/${discardId}`, 'DELETE')).status).toBe(404);
    const all = await call(`${base}/dead-letters/replay`, 'POST', { all: true });
    expect(all.status).toBe(200);
    expect(new Set(all.body.replayed.map((item: { executionId: string }) => item.executionId))).toEqual(new Set([failing[3], failing[4]]));
    for (const replayed of failing.slice(2, 5)) await settled(replayed, 'completed');
    expect((await call(`${base}/dead-letters`)).body).toMatchObject({ total: 0, items: [] });

    // cancel, then cancelling again is a conflict.
    const waiting = (await call(`${base}/executions`, 'POST', { workflow: 'Approval', args: ['c-1', 1] })).body.id as string;
    expect(await call(`${base}/executions/${waiting}/cancel`, 'POST')).toMatchObject({ status: 200, body: { id: waiting, cancelled: true, state: 'cancelled' } });
    expect(await call(`${base}/executions/${waiting}/cancel`, 'POST')).toMatchObject({ status: 409, body: { code: 'STENT_EXECUTION_FINISHED' } });

    const registry = await call(`${base}/workflows`);
    expect(registry.status).toBe(200);
    expect(registry.body.workflows.map((w: { name: string }) => w.name)).toEqual(['Approval', 'Checkout', 'Tolerant']);
    expect(registry.body.activities).toEqual([expect.objectContaining({ name: 'PaymentActs.charge', className: 'PaymentActs', retry: expect.objectContaining({ maxAttempts: 1 }) })]);
    expect(registry.body.served.workflows.map((w: { name: string }) => w.name)).toEqual(['Approval', 'Checkout', 'Tolerant']);
    const workers = await call(`${base}/workers`);
    expect(workers.status).toBe(200);
    expect(workers.body.items).toEqual([expect.objectContaining({ status: 'live', pid: process.pid, workflows: expect.arrayContaining(['Approval', 'Checkout']), heartbeatAt: expect.any(String) })]);
    const stats = await call(`${base}/stats?minutes=5`);
    expect(stats.status).toBe(200);
    // d-1 stays failed: its dead letter was discarded, not replayed.
    expect(stats.body.executions).toMatchObject({ completed: 6, cancelled: 1, failed: 1 });
    expect(stats.body.deadLetters).toBe(0);
    expect(stats.body.throughput.perMinute).toHaveLength(5);
    expect(stats.body.queues).toEqual(expect.any(Array));
  });

  it('maps errors to 400, 404 and 409 with a code and a message, never a 500 for bad input', async () => {
    const { base, settled } = await open();
    const done = (await call(`${base}/executions`, 'POST', { workflow: 'Approval', args: ['e-1', 3], options: { executionId: 'e-1', idempotencyKey: 'key-e' } })).body.id as string;
    await call(`${base}/executions/${done}/cancel`, 'POST');
    await settled(done, 'cancelled');
    // A dead letter whose execution carried on and completed: replaying it contradicts stored state.
    const tolerant = (await call(`${base}/executions`, 'POST', { workflow: 'Tolerant', args: ['t-1'] })).body.id as string;
    await settled(tolerant, 'completed');
    const stale = (await call(`${base}/dead-letters?executionId=${tolerant}`)).body.items[0].id as string;
    const bulk = await call(`${base}/dead-letters/replay`, 'POST', { ids: [stale] });
    expect(bulk).toMatchObject({ status: 200, body: { replayed: [], failed: [{ id: stale, error: { code: 'STENT_EXECUTION_FINISHED' } }] } });
    const expectations: Array<[string, string, unknown, number, string, string?]> = [
      // 404: unknown ids and names
      ['GET', '/executions/nope', undefined, 404, 'STENT_EXECUTION_NOT_FOUND'],
      ['GET', '/executions/nope/journal', undefined, 404, 'STENT_EXECUTION_NOT_FOUND'],
      ['POST', '/executions/nope/cancel', undefined, 404, 'STENT_EXECUTION_NOT_FOUND'],
      ['POST', '/executions/nope/signals', { name: 'approve' }, 404, 'STENT_EXECUTION_NOT_FOUND'],
      ['POST', '/executions/nope/retry', undefined, 404, 'STENT_EXECUTION_NOT_FOUND'],
      ['POST', '/executions/nope/resume', undefined, 404, 'STENT_EXECUTION_NOT_FOUND'],
      ['GET', '/dead-letters/nope', undefined, 404, 'STENT_DEAD_LETTER_NOT_FOUND'],
      ['POST', '/dead-letters/nope/replay', undefined, 404, 'STENT_DEAD_LETTER_NOT_FOUND'],
      ['DELETE', '/dead-letters/nope', undefined, 404, 'STENT_DEAD_LETTER_NOT_FOUND'],
      ['POST', '/executions', { workflow: 'NoSuchFlow' }, 404, 'STENT_UNKNOWN_WORKFLOW'],
      // 409: requests that contradict stored state
      ['POST', '/executions', { workflow: 'Approval', args: ['x', 1], options: { executionId: 'e-1' } }, 409, 'STENT_EXECUTION_EXISTS'],
      ['POST', '/executions', { workflow: 'Checkout', args: ['x'], options: { idempotencyKey: 'key-e' } }, 409, 'STENT_IDEMPOTENCY_CONFLICT'],
      ['POST', `/executions/${done}/signals`, { name: 'approve' }, 409, 'STENT_EXECUTION_FINISHED'],
      ['POST', `/executions/${done}/retry`, undefined, 409, 'STENT_EXECUTION_FINISHED'],
      ['POST', `/executions/${done}/cancel`, undefined, 409, 'STENT_EXECUTION_FINISHED'],
      ['POST', `/dead-letters/${stale}/replay`, undefined, 409, 'STENT_EXECUTION_FINISHED'],
      // 400: bad bodies, arguments, durations, filters, pages
      // Malformed JSON is refused by Nest's body parser, before any route: its own 400 body.
      ['POST', '/executions', '{"workflow": "Approval",', 400, ''],
      ['POST', '/executions', [1, 2], 400, 'STENT_INVALID_REQUEST', 'body'],
      ['POST', '/executions', { args: [] }, 400, 'STENT_INVALID_REQUEST', 'workflow'],
      ['POST', '/executions', { workflow: 'Approval', args: 'o-1' }, 400, 'STENT_INVALID_REQUEST', 'args'],
      ['POST', '/executions', { workflow: 'Approval', args: ['only-one'] }, 400, 'STENT_INVALID_REQUEST', 'args'],
      ['POST', '/executions', { workflow: 'Approval', args: ['a', 1, 'extra'] }, 400, 'STENT_INVALID_REQUEST', 'args'],
      ['POST', '/executions', { workflow: 'Approval', args: ['a', 1], options: { delay: 'soon' } }, 400, 'STENT_INVALID_DURATION'],
      ['POST', '/executions', { workflow: 'Approval', args: ['a', 1], options: { priority: 'high' } }, 400, 'STENT_INVALID_REQUEST', 'options.priority'],
      ['POST', '/executions', { workflow: 'Approval', args: ['a', 1], options: { transaction: {} } }, 400, 'STENT_INVALID_REQUEST', 'options.transaction'],
      ['POST', '/executions', { workflow: 'Approval', args: ['a', 1], extra: true }, 400, 'STENT_INVALID_REQUEST', 'extra'],
      ['POST', '/executions', { workflow: 'Approval', args: ['a', 1], options: { queue: '' } }, 400, 'STENT_INVALID_NAME'],
      ['POST', `/executions/${done}/signals`, { payload: 1 }, 400, 'STENT_INVALID_REQUEST', 'name'],
      ['POST', '/dead-letters/replay', {}, 400, 'STENT_INVALID_REQUEST', 'ids'],
      ['POST', '/dead-letters/replay', { all: 'yes' }, 400, 'STENT_INVALID_REQUEST', 'all'],
      ['GET', '/executions?state=done', undefined, 400, 'STENT_INVALID_FILTER', 'state'],
      ['GET', '/executions?limit=5000', undefined, 400, 'STENT_INVALID_FILTER', 'limit'],
      ['GET', '/executions?limit=ten', undefined, 400, 'STENT_INVALID_REQUEST', 'limit'],
      ['GET', '/executions?createdAfter=yesterday', undefined, 400, 'STENT_INVALID_FILTER', 'createdAfter'],
      ['GET', '/executions?cursor=garbage', undefined, 400, 'STENT_INVALID_CURSOR'],
      ['GET', '/executions?colour=red', undefined, 400, 'STENT_INVALID_REQUEST', 'colour'],
      ['GET', '/executions?workflow=a&workflow=b', undefined, 400, 'STENT_INVALID_REQUEST', 'workflow'],
      ['GET', '/executions/e-1/journal?limit=0', undefined, 400, 'STENT_INVALID_FILTER', 'limit'],
      ['GET', '/dead-letters?limit=-1', undefined, 400, 'STENT_INVALID_FILTER', 'limit'],
      ['GET', '/workers?recent=lately', undefined, 400, 'STENT_INVALID_DURATION'],
      ['GET', '/stats?minutes=0', undefined, 400, 'STENT_INVALID_FILTER', 'throughputMinutes'],
      ['GET', '/stats?minutes=5&verbose=1', undefined, 400, 'STENT_INVALID_REQUEST', 'verbose'],
      ['GET', '/workflows?limit=1', undefined, 400, 'STENT_INVALID_REQUEST', 'limit'],
      ['POST', '/executions?dryRun=1', { workflow: 'Checkout', args: ['q'] }, 400, 'STENT_INVALID_REQUEST', 'dryRun'],
    ];
    for (const [method, path, body, status, code, field] of expectations) {
      const response = await call(`${base}${path}`, method, body);
      const what = `${method} ${path} ${JSON.stringify(body) ?? ''}`;
      expect(response.status, `${what}: ${JSON.stringify(response.body)}`).toBe(status);
      expect(response.body.message, what).toEqual(expect.any(String));
      if (code) expect(response.body.code, what).toBe(code);
      if (field) expect(response.body.field, what).toBe(field);
    }
  });

  it("runs the user's guard on every route: 401 without credentials, 403 with wrong ones", async () => {
    const { base } = await open();
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/executions'],
      ['GET', '/executions/x'],
      ['GET', '/executions/x/journal'],
      ['GET', '/dead-letters'],
      ['GET', '/dead-letters/x'],
      ['GET', '/workflows'],
      ['GET', '/workers'],
      ['GET', '/stats'],
      ['POST', '/executions', { workflow: 'Checkout', args: ['z'] }],
      ['POST', '/executions/x/cancel'],
      ['POST', '/executions/x/signals', { name: 'approve' }],
      ['POST', '/executions/x/retry'],
      ['POST', '/executions/x/resume'],
      ['POST', '/executions/x/fork', { fromPosition: 0 }],
      ['POST', '/executions/x/rewind', { fromPosition: 0 }],
      ['POST', '/dead-letters/replay', { all: true }],
      ['POST', '/dead-letters/x/replay'],
      ['DELETE', '/dead-letters/x'],
    ];
    for (const [method, path, body] of routes) {
      expect((await call(`${base}${path}`, method, body, {})).status, `${method} ${path}`).toBe(401);
      const forbidden = await call(`${base}${path}`, method, body, { authorization: 'Bearer guess' });
      expect(forbidden, `${method} ${path}`).toMatchObject({ status: 403, body: { code: 'HTTP_403', message: 'not an operator' } });
    }
    // Nothing was dispatched past the guard.
    expect((await call(`${base}/executions`, 'GET', undefined, AUTH)).body.total).toBe(0);
  });
});
