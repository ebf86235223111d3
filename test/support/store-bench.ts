import { afterEach } from 'vitest';
import { createStentStore, type StentStore } from 'nestjs-stent';
import { createTestDatabase, type Backend, type TestDatabase } from './databases.js';
import { openInspector, type Inspector } from './inspector.js';

/** A migrated store on a fresh database, and an inspector that reads its tables beside it. */
export interface OpenStore {
  db: TestDatabase;
  store: StentStore;
  inspector: Inspector;
}

/** For one describe block of store tests: the returned `open()` makes an OpenStore, which an afterEach closes. */
export function storeBench(dialect: Backend): () => Promise<OpenStore> {
  let db: TestDatabase | undefined;
  let store: StentStore | undefined;
  let inspector: Inspector | undefined;
  afterEach(async () => {
    await store?.close().catch(() => undefined);
    await inspector?.close().catch(() => undefined);
    await db?.dispose();
    db = store = inspector = undefined;
  });
  return async () => {
    db = await createTestDatabase(dialect);
    store = await createStentStore({ database: db.options });
    await store.migrate();
    inspector = await openInspector(db);
    return { db, store, inspector };
  };
}
