import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { billing, call } from './admin-app.js';
import { guardedAdmin } from './guarded-admin.js';

describe.each(DIALECTS)('schedules through the admin REST API on %s', (dialect) => {
  const open = guardedAdmin(dialect);

  it('creates, lists, changes, pauses, resumes, triggers, backfills and deletes a schedule; errors are 400, 404 and 409 with codes', async () => {
    billing.works = true;
    const { base } = await open();

    const created = await call(`${base}/schedules`, 'POST', { name: 'nightly', workflow: 'Checkout', cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUp: 2 });
    expect(created).toMatchObject({ status: 201, body: { name: 'nightly', workflowName: 'Checkout', state: 'active', catchUp: 2, overlap: 'allow', source: 'api' } });
    expect(Date.parse(created.body.nextTickAt)).toBeGreaterThan(Date.now());
    expect(await call(`${base}/schedules`, 'POST', { name: 'nightly', workflow: 'Checkout', cron: '0 3 * * *' })).toMatchObject({ status: 409, body: { code: 'STENT_SCHEDULE_EXISTS' } });
    expect(await call(`${base}/schedules`, 'POST', { name: 'bad', workflow: 'Checkout', cron: '0 3 * *' })).toMatchObject({ status: 400, body: { code: 'STENT_INVALID_SCHEDULE' } });
    expect(await call(`${base}/schedules`, 'POST', { name: 'bad', workflow: 'Checkout', cron: '0 3 * * *', every: 'day' })).toMatchObject({ status: 400, body: { code: 'STENT_INVALID_SCHEDULE' } });
    expect(await call(`${base}/schedules`, 'POST', { name: 'bad', workflow: 'Nope', cron: '0 3 * * *' })).toMatchObject({ status: 404, body: { code: 'STENT_UNKNOWN_WORKFLOW' } });
    expect(await call(`${base}/schedules`, 'POST', 'nonsense')).toMatchObject({ status: 400 });
    expect(await call(`${base}/schedules/missing`)).toMatchObject({ status: 404, body: { code: 'STENT_SCHEDULE_NOT_FOUND' } });

    expect((await call(`${base}/schedules`)).body.items.map((s: { name: string }) => s.name)).toEqual(['nightly']);
    expect(await call(`${base}/schedules/nightly`, 'PATCH', { cron: '0 4 * * *', overlap: 'skip' })).toMatchObject({ status: 200, body: { cron: '0 4 * * *', overlap: 'skip' } });
    expect(await call(`${base}/schedules/nightly/pause`, 'POST')).toMatchObject({ status: 200, body: { state: 'paused', nextTickAt: null } });
    expect(await call(`${base}/schedules/nightly/resume`, 'POST')).toMatchObject({ status: 200, body: { state: 'active' } });

    const triggered = await call(`${base}/schedules/nightly/trigger`, 'POST');
    expect(triggered).toMatchObject({ status: 201, body: { name: 'nightly', executionId: expect.any(String) } });
    await waitUntil(async () => (await call(`${base}/executions/${triggered.body.executionId}`)).body.state === 'completed', 'the triggered run to complete');
    const run = (await call(`${base}/executions/${triggered.body.executionId}`)).body;
    expect(run.args[0]).toMatchObject({ schedule: 'nightly', manual: true });

    const day = 86_400_000;
    const backfill = await call(`${base}/schedules/nightly/backfill`, 'POST', { from: new Date(Date.now() - 3 * day).toISOString(), to: Date.now() });
    expect(backfill).toMatchObject({ status: 200, body: { name: 'nightly', ticks: 3 } });
    expect(backfill.body.created).toHaveLength(3);
    expect(await call(`${base}/schedules/nightly/backfill`, 'POST', { from: 'yesterday' })).toMatchObject({ status: 400, body: { code: 'STENT_INVALID_SCHEDULE' } });
    expect(await call(`${base}/schedules/nightly/backfill`, 'POST', { to: 1 })).toMatchObject({ status: 400 });

    expect(await call(`${base}/schedules/nightly`, 'DELETE')).toMatchObject({ status: 200, body: { name: 'nightly', deleted: true } });
    expect(await call(`${base}/schedules/nightly`, 'DELETE')).toMatchObject({ status: 404 });
    // The guard covers the schedule routes too.
    for (const [method, path] of [['GET', '/schedules'], ['POST', '/schedules/x/pause'], ['POST', '/schedules/x/backfill'], ['DELETE', '/schedules/x']] as const) {
      expect((await call(`${base}${path}`, method, method === 'GET' ? undefined : {}, {})).status, `${method} ${path}`).toBe(401);
    }
  });
});
