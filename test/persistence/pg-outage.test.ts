import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createStentStore, DatabaseUnavailableError, defineActivity, defineWorkflow, StentExecutor } from 'nestjs-stent';
import { clusterDatabase, PgCluster } from '../support/pg-cluster.js';
import type { TestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';

class OutageActs {
  async echo(value: string): Promise<string> {
    return value;
  }
}
defineActivity(OutageActs);

class OutageFlow {
  constructor(private readonly acts: OutageActs) {}
  async run(value: string): Promise<string> {
    return this.acts.echo(value);
  }
}
defineWorkflow(OutageFlow);

const quiet = { log() {}, warn() {}, error() {} };

/** Backends of the cluster LISTENing on the schema's channel. */
async function listeners(cluster: PgCluster, schema: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: cluster.url() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const rows = await client.query(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [`LISTEN "stent_${schema}"`]);
    return rows.rows.map((row: { pid: number }) => Number(row.pid));
  } finally {
    await client.end();
  }
}

describe("a PostgreSQL outage seen from one process (a cluster of this test's own)", () => {
  let cluster: PgCluster;
  let db: TestDatabase;

  beforeAll(async () => {
    cluster = await PgCluster.create();
    db = await clusterDatabase(cluster);
  });

  afterAll(async () => {
    if (cluster && !cluster.isRunning) await cluster.start();
    await db?.dispose().catch(() => undefined);
    await cluster?.destroy();
  });

  it('operations fail with a typed retryable error, readiness says why, waitFor and the listener carry on, and it all works again after', async () => {
    const store = await createStentStore({ database: db.options, reconnectWindow: '500ms', connectTimeout: '1s' });
    const executor = new StentExecutor({ store, worker: { concurrency: 2, pollInterval: '50ms', maxPollInterval: '200ms', lease: '10s' }, logger: quiet });
    const acts = new OutageActs();
    executor.register(acts, new OutageFlow(acts));
    await executor.start();
    try {
      const [listener] = await waitUntil(async () => {
        const pids = await listeners(cluster, db.schema!);
        return pids.length === 1 ? pids : undefined;
      }, 'the LISTEN connection', 10_000);

      // A wait that begins before the outage and must end after it: the execution is delayed past it.
      const delayed = await executor.dispatch(OutageFlow, ['across'], { delay: '3s' });
      const waiting = executor.waitFor(delayed, { timeout: '60s', pollInterval: '100ms' });

      await cluster.stop('immediate');
      const started = Date.now();
      const error = await executor.dispatch(OutageFlow, ['during']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect(error).toMatchObject({ code: 'STENT_DATABASE_UNAVAILABLE', category: 'unavailable', retryable: true });
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect(executor.getExecution(delayed)).rejects.toBeInstanceOf(DatabaseUnavailableError);

      await waitUntil(() => executor.readiness() === 'unavailable', 'readiness to report the outage', 20_000);
      expect(executor.readinessDetail().reason).toMatch(/claims failing .*database is unreachable/);

      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await cluster.start();
      await waitUntil(() => executor.readiness() === 'ready', 'readiness to recover', 30_000);
      const outcome = await waiting;
      expect(outcome.value).toBe('across');

      const reconnected = await waitUntil(async () => {
        const pids = await listeners(cluster, db.schema!);
        return pids.length === 1 && pids[0] !== listener ? pids : undefined;
      }, 'a new LISTEN connection', 30_000);
      expect(reconnected).toHaveLength(1);
      const after = await executor.dispatch(OutageFlow, ['after']);
      expect((await executor.waitFor(after, { timeout: '30s' })).value).toBe('after');
    } finally {
      if (!cluster.isRunning) await cluster.start();
      await executor.close(0);
    }
  });
});
