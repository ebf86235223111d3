import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { aesGcmCodec, createStentStore, defineActivity, defineWorkflow, setActivityMethodOptions, Stent, StentExecutor } from 'nestjs-stent';
import { DIALECTS, type Dialect } from '../support/databases.js';
import { ExecutorSet, MemoryLogger, QUICK_WORKER } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';
import { call } from './admin-app.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '../../../libs/stent');
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
/** The bin as the package declares it (what npx runs). */
const BIN = join(packageDir, manifest.bin['stent-server']!);

class Mailer {
  async send(to: string): Promise<string> {
    if (to.endsWith('@bounce')) throw new Error(`mailbox ${to} does not exist`);
    return `sent to ${to}`;
  }
}
setActivityMethodOptions(Mailer.prototype, 'send', { retry: { maxAttempts: 1 } });
defineActivity(Mailer);

class Newsletter {
  constructor(private readonly mailer: Mailer) {}
  async run(to: string): Promise<string> {
    return this.mailer.send(to);
  }
}
defineWorkflow(Newsletter);

class Waiting {
  async run(): Promise<unknown> {
    return Stent.waitForSignal('never');
  }
}
defineWorkflow(Waiting);

interface Server {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/**
 * How long a server may take to print where it listens. A start with a codec module also loads the
 * library's own modules for that module (outside the bin's bundle): with two suites at once on a slow
 * 2-core machine one took over 30 s.
 */
const START_DEADLINE_MS = 90_000;

/** Spawns the built bin; resolves once it prints where it listens, or with its exit code and output if it exits first. */
function startServer(env: Record<string, string>): Promise<Server | { code: number | null; output: string }> {
  const child = spawn(process.execPath, [BIN], { env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stent-server did not start within ${START_DEADLINE_MS / 1000} s:\n${output}`));
    }, START_DEADLINE_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /stent-server listening (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function stop(server: Server): Promise<number | null> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return server.child.exitCode;
  const exited = new Promise<number | null>((resolve) => server.child.on('exit', (code) => resolve(code)));
  server.child.kill('SIGTERM');
  return exited;
}

/** For one describe block: `open()` makes its executor set; after each test the servers it started stop and the set is disposed. */
function serverBench(dialect: Dialect): { open(): Promise<ExecutorSet>; servers: Server[] } {
  let set: ExecutorSet | undefined;
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await stop(server);
    await set?.dispose();
    set = undefined;
  });
  return { servers, open: async () => (set = await ExecutorSet.create(dialect)) };
}

describe.each(DIALECTS)('stent-server (the built bin) on %s', (dialect) => {
  const bench = serverBench(dialect);
  const { servers } = bench;

  async function filledDatabase() {
    const set = await bench.open();
    const mailer = new Mailer();
    const app = await set.executor([mailer, new Newsletter(mailer), new Waiting()]);
    const sent = await app.dispatch(Newsletter, ['ann@example.com']);
    const bounced = await app.dispatch(Newsletter, ['bob@bounce']);
    const waiting = await app.dispatch(Waiting, []);
    expect((await app.waitFor(sent, { timeout: '30s' })).state).toBe('completed');
    expect((await app.waitFor(bounced, { timeout: '30s' })).state).toBe('failed');
    await waitUntil(async () => (await app.getExecution(waiting)).state === 'running', 'the waiting execution to start');
    return { app, sent, bounced, waiting, url: set.db.url };
  }

  it('serves the admin API for a database written by another application, behind STENT_ADMIN_TOKEN', async () => {
    const { app, sent, bounced, waiting, url } = await filledDatabase();
    const started = await startServer({ STENT_DATABASE_URL: url, STENT_ADMIN_TOKEN: 's3cret' });
    if (!('child' in started)) throw new Error(`stent-server exited (${started.code}):\n${started.output}`);
    servers.push(started);
    const auth = { authorization: 'Bearer s3cret' };
    const base = started.url;
    expect(base).toMatch(/\/stent$/);

    expect((await call(`${base}/executions`, 'GET', undefined, {})).status).toBe(401);
    expect((await call(`${base}/executions`, 'GET', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    // A browser opening the dashboard is asked for the token (basic auth, any user name) and then gets the page.
    const refused = await fetch(`${base}/ui`);
    expect({ status: refused.status, challenge: refused.headers.get('www-authenticate') }).toEqual({ status: 401, challenge: expect.stringMatching(/^Basic realm="stent"/) });
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` });
    expect((await fetch(`${base}/ui`, { headers: basic('wrong') })).status).toBe(401);
    const page = await fetch(`${base}/ui`, { headers: basic('s3cret') });
    expect({ status: page.status, html: (await page.text()).includes('<html') }).toEqual({ status: 200, html: true });
    expect((await call(`${base}/stats`, 'GET', undefined, basic('s3cret'))).status).toBe(200);
    const listed = await call(`${base}/executions?limit=2`, 'GET', undefined, auth);
    expect(listed).toMatchObject({ status: 200, body: { total: 3, limit: 2, nextCursor: expect.any(String) } });
    const next = await call(`${base}/executions?limit=2&cursor=${listed.body.nextCursor}`, 'GET', undefined, auth);
    expect(new Set([...listed.body.items, ...next.body.items].map((item: { id: string }) => item.id))).toEqual(new Set([sent, bounced, waiting]));
    expect(await call(`${base}/executions/${sent}`, 'GET', undefined, auth)).toMatchObject({ status: 200, body: { state: 'completed', output: 'sent to ann@example.com' } });
    expect((await call(`${base}/executions/${bounced}/journal`, 'GET', undefined, auth)).body.items[0]).toMatchObject({ name: 'Mailer.send', state: 'failed', error: { message: 'mailbox bob@bounce does not exist' } });
    const letters = await call(`${base}/dead-letters`, 'GET', undefined, auth);
    expect(letters.body).toMatchObject({ total: 1, items: [{ executionId: bounced }] });
    expect((await call(`${base}/stats`, 'GET', undefined, auth)).body).toMatchObject({ executions: { completed: 1, failed: 1, running: 1 }, deadLetters: 1, thisWorker: null });
    const workers = (await call(`${base}/workers`, 'GET', undefined, auth)).body.items as Array<{ id: string; workflows: string[] }>;
    expect(workers.find((worker) => worker.id === app.worker!.ownerId)?.workflows).toEqual(expect.arrayContaining(['Newsletter', 'Waiting']));
    // No workflow code in the server: its registry is empty; dispatch by name goes to the workflows live workers run.
    const registry = (await call(`${base}/workflows`, 'GET', undefined, auth)).body;
    expect(registry).toMatchObject({ workflows: [], activities: [] });
    expect(registry.served.workflows).toEqual([
      { name: 'Newsletter', queue: 'default', priority: null, tags: [], maxDurationMs: null, workers: [app.worker!.ownerId] },
      { name: 'Waiting', queue: 'default', priority: null, tags: [], maxDurationMs: null, workers: [app.worker!.ownerId] },
    ]);
    expect(registry.served.activities).toEqual([{ name: 'Mailer.send', workers: [app.worker!.ownerId] }]);
    const dispatched = await call(`${base}/executions`, 'POST', { workflow: 'Newsletter', args: ['cy@example.com'] }, auth);
    expect(dispatched).toMatchObject({ status: 201, body: { id: expect.any(String) } });
    expect((await app.waitFor(dispatched.body.id, { timeout: '30s' })).unwrap()).toBe('sent to cy@example.com');
    expect(await call(`${base}/executions`, 'POST', { workflow: 'Nobody', args: [] }, auth)).toMatchObject({ status: 404, body: { code: 'STENT_UNKNOWN_WORKFLOW' } });

    // Mutations reach the application's worker through the database.
    expect(await call(`${base}/executions/${waiting}/signals`, 'POST', { name: 'never', payload: 42 }, auth)).toMatchObject({ status: 202 });
    expect((await app.waitFor(waiting, { timeout: '30s' })).unwrap()).toBe(42);
    const replay = await call(`${base}/dead-letters/${letters.body.items[0].id}/replay`, 'POST', undefined, auth);
    expect(replay).toMatchObject({ status: 200, body: { executionId: bounced } });
    expect((await app.waitFor(bounced, { timeout: '30s' })).state).toBe('failed');
    expect(await call(`${base}/executions/${sent}/cancel`, 'POST', undefined, auth)).toMatchObject({ status: 409, body: { code: 'STENT_EXECUTION_FINISHED' } });
    expect(await stop(started)).toBe(0);
  });

  it('serves without a token only when STENT_ADMIN_UNGUARDED=1 says so, read-only and at another path when asked', async () => {
    const { url } = await filledDatabase();
    const refused = await startServer({ STENT_DATABASE_URL: url });
    expect(refused).toMatchObject({ code: 1, output: expect.stringMatching(/stent-server: STENT_ADMIN_TOKEN is not set/) });
    const open = await startServer({ STENT_DATABASE_URL: url, STENT_ADMIN_UNGUARDED: '1', STENT_ADMIN_READ_ONLY: '1', STENT_ADMIN_PATH: '/ops' });
    if (!('child' in open)) throw new Error(`stent-server exited (${open.code}):\n${open.output}`);
    servers.push(open);
    expect(open.url).toMatch(/\/ops$/);
    expect((await call(`${open.url}/executions`, 'GET', undefined, {})).body.total).toBe(3);
    expect((await call(`${open.url}/dead-letters/replay`, 'POST', { all: true }, {})).status).toBe(404);
  });
});

describe.each(DIALECTS)('stent-server and a payload codec on %s', (dialect) => {
  const bench = serverBench(dialect);
  const { servers } = bench;

  it('shows payloads decoded with STENT_CODEC_MODULE and as markers without it, streams included', async () => {
    const set = await bench.open();
    const key = randomBytes(32).toString('base64');
    const app = new StentExecutor({ store: await createStentStore({ database: set.db.options }), worker: QUICK_WORKER, codec: aesGcmCodec({ keys: { ops: key }, current: 'ops' }), logger: new MemoryLogger() });
    set.onCleanup(() => app.close('2s'));
    const mailer = new Mailer();
    app.register(mailer, new Newsletter(mailer));
    await app.start();
    const sent = await app.dispatch(Newsletter, ['carol@example.com']);
    expect((await app.waitFor(sent, { timeout: '30s' })).state).toBe('completed');

    const codecModule = fileURLToPath(new URL('../fixtures/cli-codec.js', import.meta.url));
    const withCodec = await startServer({ STENT_DATABASE_URL: set.db.url, STENT_ADMIN_UNGUARDED: '1', STENT_CODEC_MODULE: codecModule, STENT_TEST_CODEC_KEY: key });
    if (!('child' in withCodec)) throw new Error(`stent-server exited (${withCodec.code}):\n${withCodec.output}`);
    servers.push(withCodec);
    expect((await call(`${withCodec.url}/executions/${sent}`, 'GET', undefined, {})).body).toMatchObject({ args: ['carol@example.com'], output: 'sent to carol@example.com' });
    const blind = await startServer({ STENT_DATABASE_URL: set.db.url, STENT_ADMIN_UNGUARDED: '1' });
    if (!('child' in blind)) throw new Error(`stent-server exited (${blind.code}):\n${blind.output}`);
    servers.push(blind);
    const seen = await call(`${blind.url}/executions/${sent}`, 'GET', undefined, {});
    expect(seen.body).toMatchObject({ args: "[encoded with key 'ops']", output: "[encoded with key 'ops']" });
    expect(JSON.stringify(seen.body)).not.toContain('carol');
  }, 2 * START_DEADLINE_MS + 60_000);
});

describe('stent-server configuration errors', () => {
  it('exits 1 with a one-line message: no database URL, a bad duration, an unreachable database', async () => {
    const noDatabase = await startServer({ STENT_ADMIN_TOKEN: 'x' });
    expect(noDatabase).toMatchObject({ code: 1, output: expect.stringMatching(/^stent-server: STENT_DATABASE_URL is not set/m) });
    const badTimeout = await startServer({ STENT_DATABASE_URL: 'unused.db', STENT_ADMIN_TOKEN: 'x', STENT_CONNECT_TIMEOUT: 'a while' });
    expect(badTimeout).toMatchObject({ code: 1, output: expect.stringMatching(/^stent-server: Invalid duration "a while"/m) });
    // Nothing listens on port 9: the server retries for STENT_CONNECT_TIMEOUT, then exits with the reason.
    const unreachable = await startServer({ STENT_DATABASE_URL: 'postgres://postgres@127.0.0.1:9/test', STENT_ADMIN_TOKEN: 'x', STENT_CONNECT_TIMEOUT: '1s' });
    expect(unreachable).toMatchObject({ code: 1, output: expect.stringMatching(/^stent-server: Stent could not connect to its database within \d+ ms \(\d+ attempt/m) });
  });
});
