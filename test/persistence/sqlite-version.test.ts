import Database from 'better-sqlite3';
import sqlite3 from 'sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore } from 'nestjs-stent';
import { hasWalResetBug } from 'nestjs-stent/internal';
import { createTestDatabase, type Backend, type TestDatabase } from '../support/databases.js';

describe('hasWalResetBug', () => {
  it.each([
    ['3.7.0', true],
    ['3.44.2', true],
    ['3.50.4', true],
    ['3.51.2', true],
    ['3.51.3', false],
    ['3.52.0', false],
    ['3.53.2', false],
    ['4.0.0', false],
  ])('SQLite %s: %s', (version, expected) => {
    expect(hasWalResetBug(version)).toBe(expected);
  });
});

/** The version of the SQLite library a driver was built with, asked of an in-memory database. */
async function libraryVersion(backend: Backend): Promise<string> {
  if (backend === 'sqlite3') {
    const db = new sqlite3.Database(':memory:');
    try {
      return await new Promise<string>((resolve, reject) => db.get('SELECT sqlite_version() AS version', (error: Error | null, row: { version: string }) => (error ? reject(error) : resolve(row.version))));
    } finally {
      await new Promise((resolve) => db.close(resolve));
    }
  }
  const db = new Database(':memory:');
  try {
    return (db.prepare('SELECT sqlite_version() AS version').get() as { version: string }).version;
  } finally {
    db.close();
  }
}

// The test suite's own drivers (package.json pins them): a SQLite with the bug corrupted a database under
// several worker processes once, so the suite must not run on one again.
describe.each<Backend>(['sqlite', 'sqlite3'])('the SQLite library of the %s driver', (backend) => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await db?.dispose();
    db = undefined;
  });

  it('is a release without the WAL-reset bug, and opening a store on it warns of nothing', async () => {
    db = await createTestDatabase(backend);
    const warnings: string[] = [];
    const store = await createStentStore({ database: db.options, logger: { warn: (message: string) => warnings.push(message) } });
    try {
      const version = await libraryVersion(backend);
      expect(hasWalResetBug(version), `SQLite ${version}`).toBe(false);
      await store.ping();
      // The check runs beside the first statements; one more round trip lets it finish.
      await store.ping();
      expect(warnings.filter((warning) => warning.includes('WAL-reset'))).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
