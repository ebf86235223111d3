/**
 * A throwaway PostgreSQL cluster of a test's own (initdb + pg_ctl on a free port in a temp dir, run as the
 * postgres user), for tests that stop or restart the server. The shared server on 5432 is never touched.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { TestDatabase } from './databases.js';

const run = promisify(execFile);

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const live = new Set<PgCluster>();

export type ShutdownMode = 'smart' | 'fast' | 'immediate';

export class PgCluster {
  private running = false;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly binDir: string,
  ) {}

  /** Creates and starts a cluster with a `test` database; trust auth for user postgres on 127.0.0.1. */
  static async create(): Promise<PgCluster> {
    const bin = binDir();
    const dir = mkdtempSync(join(tmpdir(), 'stent-pgcluster-'));
    const { uid, gid } = await postgresIds();
    chownSync(dir, uid, gid);
    const cluster = new PgCluster(dir, await freePort(), bin);
    live.add(cluster);
    await cluster.asPostgres('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    await cluster.start();
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE test');
    } finally {
      await admin.end();
    }
    return cluster;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  url(database = 'test'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  get isRunning(): boolean {
    return this.running;
  }

  // fsync=off is safe here: an immediate shutdown kills the server processes, not the machine, and what
  // they wrote is in the page cache; synchronous_commit stays on so no acknowledged commit is lost.
  async start(): Promise<void> {
    await this.asPostgres('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      'start',
    ]);
    this.running = true;
  }

  async stop(mode: ShutdownMode = 'fast'): Promise<void> {
    await this.asPostgres('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  /** Stops the server in `mode` (what a failover or a crash does to clients), then starts it again. */
  async restart(mode: ShutdownMode = 'fast'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** Stops the server (immediately) and removes its files. */
  async destroy(): Promise<void> {
    live.delete(this);
    if (this.running) await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async asPostgres(tool: string, args: string[]): Promise<void> {
    await run('runuser', ['-u', 'postgres', '--', join(this.binDir, tool), ...args], { cwd: this.dir, timeout: 120_000 });
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

// A test that dies before its afterAll must not leave a server behind.
process.on('exit', () => {
  for (const cluster of live) {
    try {
      // Synchronous on purpose: nothing asynchronous runs in an 'exit' handler.
      execFileSync('runuser', ['-u', 'postgres', '--', join(cluster.binDir, 'pg_ctl'), '-D', cluster.dataDir, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
    } catch {
      // already stopped
    }
  }
});


/** A schema of its own in the cluster's `test` database, as a TestDatabase (its dispose drops the schema). */
export async function clusterDatabase(cluster: PgCluster): Promise<TestDatabase> {
  const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const url = cluster.url();
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE SCHEMA "${schema}"`);
  return {
    dialect: 'postgres',
    options: { type: 'postgres', url, schema },
    url: `${url}?schema=${schema}`,
    schema,
    dispose: async () => {
      if (cluster.isRunning) await admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}
