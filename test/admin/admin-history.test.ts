import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { billing, call } from './admin-app.js';
import { guardedAdmin } from './guarded-admin.js';

describe.each(DIALECTS)('admin REST API: fork and rewind on %s', (dialect) => {
  const open = guardedAdmin(dialect);

  it('rewinds a failed execution after the fix, forks a finished one (with new arguments too), and maps bad requests', async () => {
    const { base, settled } = await open();

    // Approval: 0 the signal wait, 1 its progress, 2 the charge (failing until billing works).
    const id = (await call(`${base}/executions`, 'POST', { workflow: 'Approval', args: ['h-1', 5] })).body.id as string;
    await call(`${base}/executions/${id}/signals`, 'POST', { name: 'approve', payload: { by: 'ann' } });
    await settled(id, 'failed');
    billing.works = true;
    const rewound = await call(`${base}/executions/${id}/rewind`, 'POST', { fromPosition: 2 });
    expect(rewound).toMatchObject({ status: 200, body: { id, rewoundTo: 2 } });
    // The state is read after the rewind: a worker may already have claimed it, or even finished it.
    expect(['pending', 'running', 'completed']).toContain(rewound.body.state);
    await settled(id, 'completed');
    expect((await call(`${base}/executions/${id}`)).body).toMatchObject({ output: 'charged 5 for h-1', progress: { approvedBy: 'ann' }, forkedFrom: id, forkedAt: 2 });

    const forked = await call(`${base}/executions/${id}/fork`, 'POST', { fromPosition: 2 });
    expect(forked).toMatchObject({ status: 201, body: { id: expect.any(String), forkedFrom: id, forkedAt: 2 } });
    await settled(forked.body.id, 'completed');
    // The signal and its progress were reused: the fork needed no signal of its own.
    expect((await call(`${base}/executions/${forked.body.id}`)).body).toMatchObject({ output: 'charged 5 for h-1', progress: { approvedBy: 'ann' } });

    const whatIf = await call(`${base}/executions/${id}/fork`, 'POST', { fromPosition: 0, args: ['h-2', 7], executionId: 'what-if' });
    expect(whatIf).toMatchObject({ status: 201, body: { id: 'what-if' } });
    await waitUntil(async () => (await call(`${base}/executions/what-if/journal`)).body.items.length === 1, 'the what-if fork waits for its signal');
    await call(`${base}/executions/what-if/signals`, 'POST', { name: 'approve', payload: { by: 'bob' } });
    await settled('what-if', 'completed');
    expect((await call(`${base}/executions/what-if`)).body).toMatchObject({ args: ['h-2', 7], output: 'charged 7 for h-2', progress: { approvedBy: 'bob' } });

    const waiting = (await call(`${base}/executions`, 'POST', { workflow: 'Approval', args: ['h-3', 1] })).body.id as string;
    const expectations: Array<[string, unknown, number, string, string?]> = [
      ['/executions/nope/fork', { fromPosition: 0 }, 404, 'STENT_EXECUTION_NOT_FOUND'],
      ['/executions/nope/rewind', { fromPosition: 0 }, 404, 'STENT_EXECUTION_NOT_FOUND'],
      [`/executions/${id}/fork`, { fromPosition: 'two' }, 400, 'STENT_INVALID_REQUEST', 'fromPosition'],
      [`/executions/${id}/fork`, {}, 400, 'STENT_INVALID_REQUEST', 'fromPosition'],
      [`/executions/${id}/fork`, { fromPosition: 1, args: 'h-9' }, 400, 'STENT_INVALID_REQUEST', 'args'],
      [`/executions/${id}/fork`, { fromPosition: 1, colour: 'red' }, 400, 'STENT_INVALID_REQUEST', 'colour'],
      [`/executions/${id}/fork`, { fromPosition: 99 }, 400, 'STENT_HISTORY_POSITION'],
      [`/executions/${id}/rewind`, { fromPosition: -1 }, 400, 'STENT_INVALID_REQUEST', 'fromPosition'],
      [`/executions/${id}/fork`, { fromPosition: 0, executionId: 'what-if' }, 409, 'STENT_EXECUTION_EXISTS'],
      [`/executions/${waiting}/rewind`, { fromPosition: 0 }, 409, 'STENT_EXECUTION_NOT_FINISHED'],
    ];
    for (const [path, body, status, code, field] of expectations) {
      const response = await call(`${base}${path}`, 'POST', body);
      const what = `POST ${path} ${JSON.stringify(body)}`;
      expect(response.status, `${what}: ${JSON.stringify(response.body)}`).toBe(status);
      expect(response.body.code, what).toBe(code);
      if (field) expect(response.body.field, what).toBe(field);
    }
    for (const route of ['fork', 'rewind']) expect((await call(`${base}/executions/${id}/${route}`, 'POST', { fromPosition: 0 }, {})).status).toBe(401);
  });
});
