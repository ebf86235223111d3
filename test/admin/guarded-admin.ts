import { afterEach } from 'vitest';
import type { INestApplication, Provider } from '@nestjs/common';
import { createTestDatabase, type Dialect, type TestDatabase } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { billing, call, startApp, TokenGuard } from './admin-app.js';

/** An application opened by `guardedAdmin`: the admin API's base URL and ways to read an execution's state. */
export interface GuardedAdmin {
  base: string;
  state(id: string): Promise<string>;
  settled(id: string, expected: string): Promise<unknown>;
}

/**
 * For one describe block: the returned `open()` starts an application on a fresh `dialect` database with the
 * admin API at /ops/stent behind TokenGuard (and the `extra` workflow providers); an afterEach closes it,
 * disposes the database and puts the billing gateway back to failing.
 */
export function guardedAdmin(dialect: Dialect, extra: Provider[] = []): () => Promise<GuardedAdmin> {
  let db: TestDatabase | undefined;
  let app: INestApplication | undefined;
  afterEach(async () => {
    billing.works = false;
    await app?.close();
    await db?.dispose();
    app = db = undefined;
  });
  return async () => {
    db = await createTestDatabase(dialect);
    const started = await startApp(db, { path: '/ops/stent', guards: [TokenGuard] }, undefined, extra);
    app = started.app;
    const base = `${started.url}/ops/stent`;
    const state = async (id: string) => (await call(`${base}/executions/${id}`)).body.state as string;
    const settled = (id: string, expected: string) => waitUntil(async () => (await state(id)) === expected, `${id} to be ${expected}`);
    return { base, state, settled };
  };
}
