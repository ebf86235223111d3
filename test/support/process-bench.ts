import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import type { StentExecutor } from 'nestjs-stent';
import { createTestDatabase, type Dialect, type TestDatabase } from './databases.js';
import { openClient } from './executor-set.js';
import { killAllProcesses, makeEvidenceDir } from './worker-process.js';

/**
 * Every JSON line in the files of `dir` whose names end with `suffix`, as activity bodies in worker
 * processes wrote them. A line a kill cut short is skipped.
 */
export function jsonlRecords<T>(dir: string, suffix: string): T[] {
  const out: T[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith(suffix))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as T);
      } catch {
        // a line cut by a kill
      }
    }
  }
  return out;
}

/** What a describe block of cross-process tests opens: an evidence directory, a database, a dispatch-only client. */
export interface ProcessBench {
  readonly evidence: { dir: string };
  /** A fresh database for this test. */
  database(): Promise<TestDatabase>;
  /** A worker-less executor on the test's database, for dispatching and reading. */
  client(): Promise<StentExecutor>;
}

/**
 * For one describe block of tests that start worker processes: after each test every process is killed
 * and the client and database closed; after all, the evidence directory is removed.
 */
export function processBench(dialect: Dialect, evidencePrefix: string): ProcessBench {
  let db: TestDatabase | undefined;
  let client: StentExecutor | undefined;
  const evidence = makeEvidenceDir(evidencePrefix);
  afterEach(async () => {
    await killAllProcesses();
    await client?.close();
    await db?.dispose();
    client = undefined;
    db = undefined;
  });
  afterAll(() => evidence.dispose());
  return {
    evidence,
    async database() {
      db = await createTestDatabase(dialect);
      return db;
    },
    async client() {
      if (!db) throw new Error('processBench: open the database first');
      client = await openClient(db);
      return client;
    },
  };
}
