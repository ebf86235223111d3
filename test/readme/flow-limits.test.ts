// The README's "Concurrency keys", "Rate limits" and "Limits on workflows" examples, as written: at most
// 2 pushes per tenant at once, a partner's 429 parks the call for 30 s without using an attempt, and at most
// 2 imports of a tenant hold a worker at once.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Inject } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { createStentStore, StentExecutor, Workflow } from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { importReadmeExample } from '../support/readme-example.js';
import { waitUntil } from '../support/wait.js';
import { CrmClient } from './crm-client.js';

const here = dirname(fileURLToPath(import.meta.url));
type Activities<K extends string> = Record<K, new (...args: never[]) => object>;

describe('the README flow-limit examples, as written', () => {
  let moduleRef: TestingModule | undefined;
  let executor: StentExecutor | undefined;
  let db: TestDatabase | undefined;
  let server: Server | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await moduleRef?.close();
    await executor?.close('1s');
    await db?.dispose();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('runs at most 2 syncs of one tenant at once, whatever else waits', async () => {
    const { module, cleanup } = await importReadmeExample<Activities<'TenantSync'>>('Flow control', { block: 3, dir: here });
    cleanups.push(cleanup);
    const TenantSync = module.TenantSync as new (crm: CrmClient) => { sync(job: { tenantId: string; batch: number }): Promise<void> };
    class SyncAll {
      constructor(private readonly syncs: InstanceType<typeof TenantSync>) {}
      async run(): Promise<void> {
        const jobs = [...[1, 2, 3, 4, 5].map((batch) => ({ tenantId: 'acme', batch })), { tenantId: 'globex', batch: 1 }];
        await Promise.all(jobs.map((job) => this.syncs.sync(job)));
      }
    }
    Workflow()(SyncAll);
    const crm = new CrmClient();
    const syncs = new TenantSync(crm);
    db = await createTestDatabase('sqlite');
    executor = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: { concurrency: 10, pollInterval: '20ms', maxPollInterval: '100ms' } });
    executor.register(syncs, () => new SyncAll(syncs));
    await executor.start();
    const id = await executor.dispatch(SyncAll, []);

    await waitUntil(() => crm.inFlight.get('acme') === 2 && crm.inFlight.get('globex') === 1, 'two acme syncs and the globex one to run', 30_000);
    while (crm.pushed < 6) {
      crm.release();
      await waitUntil(() => crm.pushed === 6 || [...crm.inFlight.values()].some((n) => n > 0), 'the next syncs to start', 30_000);
    }
    expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('completed');
    expect(Object.fromEntries(crm.mostAtOnce)).toEqual({ acme: 2, globex: 1 });
  });

  it("a partner's 429 parks the call for 30 s; it then runs, without having used an attempt", async () => {
    const { module, cleanup } = await importReadmeExample<Activities<'PartnerApi'>>('Flow control', { block: 4, dir: here });
    cleanups.push(cleanup);
    const PartnerApi = module.PartnerApi as new () => { call(req: { apiKey: string; url: string }): Promise<unknown> };
    const requests: string[] = [];
    server = createServer((req, res) => {
      requests.push(req.headers.authorization ?? '');
      if (requests.length === 1) res.writeHead(429).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ orders: 3 }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;

    @Workflow()
    class CountOrders {
      constructor(@Inject(PartnerApi) private readonly partner: InstanceType<typeof PartnerApi>) {}
      async run(target: string): Promise<unknown> {
        return this.partner.call({ apiKey: 'key-1', url: target });
      }
    }
    moduleRef = await Test.createTestingModule({
      imports: [StentTestingModule.forRoot()],
      providers: [PartnerApi, CountOrders],
    }).compile();
    await moduleRef.init();
    const stent = moduleRef.get(StentTestHarness);
    const id = await moduleRef.get(StentExecutor).dispatch(CountOrders, [url]);
    await stent.drain();
    expect(requests).toEqual(['Bearer key-1']);
    await stent.advance('29s');
    expect(requests).toHaveLength(1);
    await stent.advance('1s');
    const outcome = await stent.runToCompletion(id);
    expect(outcome.unwrap()).toEqual({ orders: 3 });
    expect(requests).toHaveLength(2);
    // The refused call gave its attempt back: the one that ran is attempt 1 of its step.
    expect(await stent.attempts(id, 'PartnerApi.call')).toBe(1);
  });

  it('runs every import under the limits it declares (listed by listDefinitions)', async () => {
    const { module, cleanup } = await importReadmeExample<Activities<'TenantImport'>>('Flow control', { block: 5, dir: here });
    cleanups.push(cleanup);
    const TenantImport = module.TenantImport as new () => { run(job: { tenantId: string; file: string }): Promise<string> };
    db = await createTestDatabase('sqlite');
    executor = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: { concurrency: 10, pollInterval: '20ms', maxPollInterval: '100ms' } });
    executor.register(new TenantImport());
    await executor.start();
    expect(executor.listDefinitions().workflows[0]).toMatchObject({ name: 'TenantImport', concurrency: { limit: 2 }, rateLimit: { limit: 100, perMs: 3_600_000, keyed: false } });
    const jobs = [1, 2, 3].map((n) => ({ tenantId: 'acme', file: `a${n}.csv` })).concat({ tenantId: 'globex', file: 'g1.csv' });
    const ids = await Promise.all(jobs.map((job) => executor!.dispatch(TenantImport, [job])));
    const values = await Promise.all(ids.map(async (id) => (await executor!.waitFor(id, { timeout: '30s' })).unwrap()));
    expect(values).toEqual(jobs.map((job) => `imported ${job.file} for ${job.tenantId}`));
    const details = await Promise.all(ids.map((id) => executor!.getExecution(id)));
    expect(details.every((detail) => detail.state === 'completed')).toBe(true);
  });
});
