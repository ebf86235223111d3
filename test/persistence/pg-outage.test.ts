import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createStentStore, DatabaseUnavailableError, defineActivity, defineWorkflow, StentExecutor } from 'nestjs-stent';
import { clusterDatabase, PgCluster } from '../support/pg-cluster.js';
import { listenerPids, type TestDatabase } from '../support/databases.js';
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

/** Counts the runs of each value's body, so a test can tell that nothing ran twice. */
class TallyActs {
  readonly runs = new Map<string, number>();
  async mark(value: string): Promise<string> {
    this.runs.set(value, (this.runs.get(value) ?? 0) + 1);
    return value;
  }
}
defineActivity(TallyActs);

class TallyFlow {
  constructor(private readonly acts: TallyActs) {}
  async run(value: string): Promise<string> {
    await this.acts.mark(`${value}/1`);
    return this.acts.mark(`${value}/2`);
  }
}
defineWorkflow(TallyFlow);

const quiet = { log() {}, warn() {}, error() {} };

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
        const pids = await listenerPids(cluster.url(), db.schema!);
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
        const pids = await listenerPids(cluster.url(), db.schema!);
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

  it('a server that refuses new connections (too many clients) makes operations wait for one, not fail: nothing is abandoned or run twice', async () => {
    // A role capped at 3 connections gets SQLSTATE 53300 from the server for a 4th, as every client
    // does from a server at max_connections: the pool below asks for up to 6.
    const role = `capped_${db.schema}`;
    const schema = role;
    const asAdmin = async (sql: string) => {
      const admin = new pg.Client({ connectionString: cluster.url() });
      await admin.connect();
      await admin.query(sql).finally(() => admin.end());
    };
    await asAdmin(`CREATE ROLE "${role}" LOGIN CONNECTION LIMIT 3`);
    await asAdmin(`CREATE SCHEMA "${schema}" AUTHORIZATION "${role}"`);
    const url = cluster.url().replace('postgres://postgres@', `postgres://${role}@`);
    const three = Array.from({ length: 3 }, () => new pg.Client({ connectionString: url }));
    await Promise.all(three.map((client) => client.connect()));
    const fourth = new pg.Client({ connectionString: url });
    fourth.on('error', () => undefined);
    await expect(fourth.connect()).rejects.toMatchObject({ code: '53300' });
    await Promise.all(three.map((client) => client.end()));
    const problems: string[] = [];
    const logger = { log() {}, warn: (message: string) => void problems.push(message), error: (message: string) => void problems.push(message) };
    const store = await createStentStore({ database: { type: 'postgres', url, schema, poolSize: 6 }, reconnectWindow: '60s' });
    const executor = new StentExecutor({ store, worker: { concurrency: 8, pollInterval: '50ms', maxPollInterval: '200ms', lease: '30s' }, logger });
    const acts = new TallyActs();
    executor.register(acts, new TallyFlow(acts));
    await executor.start();
    try {
      const values = Array.from({ length: 30 }, (_, i) => `v${i}`);
      const ids = await Promise.all(values.map((value) => executor.dispatch(TallyFlow, [value])));
      const outcomes = await Promise.all(ids.map((id) => executor.waitFor<string>(id, { timeout: '60s' })));
      expect(outcomes.map((outcome) => outcome.value)).toEqual(values.map((value) => `${value}/2`));
      for (const value of values) {
        expect(acts.runs.get(`${value}/1`), value).toBe(1);
        expect(acts.runs.get(`${value}/2`), value).toBe(1);
      }
      // No run was given up on because a connection was refused.
      expect(problems.filter((message) => /abandoned|dropped|failed/.test(message))).toEqual([]);
    } finally {
      await executor.close(0);
      await asAdmin(`DROP SCHEMA "${schema}" CASCADE`);
      await asAdmin(`DROP ROLE "${role}"`);
    }
  });
});
