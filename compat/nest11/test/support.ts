import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'node:test';
import type { ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';

/** A SQLite file in a directory of its own, removed by dispose(). */
export function tempDatabase(): { file: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'stent-compat-'));
  return { file: join(dir, 'app.db'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * For one describe block: `file()` gives a test a fresh SQLite file and `start(imports)` compiles and
 * initialises its application; after each test the application is closed and the file removed.
 */
export function testApps(): { file(): string; start(imports: ModuleMetadata['imports']): Promise<TestingModule> } {
  let app: TestingModule | undefined;
  let database: ReturnType<typeof tempDatabase> | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    database?.dispose();
    database = undefined;
  });
  return {
    file() {
      database = tempDatabase();
      return database.file;
    },
    async start(imports) {
      app = await Test.createTestingModule({ imports }).compile();
      await app.init();
      return app;
    },
  };
}
