import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { billing, call } from './admin-app.js';
import { guardedAdmin } from './guarded-admin.js';

describe.each(DIALECTS)('pausing through the admin REST API on %s', (dialect) => {
  const open = guardedAdmin(dialect);

  it('pauses and resumes a queue and a workflow type; held work runs after the resume; the guard covers the routes', async () => {
    billing.works = true;
    const { base } = await open();

    expect(await call(`${base}/workflows/Checkout/pause`, 'POST')).toMatchObject({ status: 200, body: { kind: 'workflow', name: 'Checkout', paused: true, changed: true } });
    expect(await call(`${base}/queues/default/pause`, 'POST')).toMatchObject({ status: 200, body: { kind: 'queue', name: 'default', changed: true } });
    expect((await call(`${base}/paused`)).body.items.map((item: { kind: string; name: string }) => `${item.kind}:${item.name}`)).toEqual(['queue:default', 'workflow:Checkout']);
    const { body } = await call(`${base}/executions`, 'POST', { workflow: 'Checkout', args: ['o-9'] });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await call(`${base}/executions/${body.id}`)).body.state).toBe('pending');
    expect(await call(`${base}/queues/default/resume`, 'POST')).toMatchObject({ status: 200, body: { paused: false, changed: true } });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await call(`${base}/executions/${body.id}`)).body.state).toBe('pending');
    expect(await call(`${base}/workflows/Checkout/resume`, 'POST')).toMatchObject({ status: 200, body: { changed: true } });
    await waitUntil(async () => (await call(`${base}/executions/${body.id}`)).body.state === 'completed', 'the held checkout to complete');
    expect((await call(`${base}/paused`)).body.items).toEqual([]);
    for (const path of ['/queues/x/pause', '/workflows/x/resume']) expect((await call(`${base}${path}`, 'POST', undefined, {})).status).toBe(401);
    expect((await call(`${base}/paused`, 'GET', undefined, {})).status).toBe(401);
  });
});
