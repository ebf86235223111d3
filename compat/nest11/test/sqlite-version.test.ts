import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Module, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { StentModule } from 'nestjs-stent';
import { tempDatabase } from './support.js';

@Module({})
class EmptyModule {}

/** Keeps what Nest's loggers are told to warn (this file runs in a process of its own). */
class WarningsLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

describe('the SQLite library of sqlite3 5.1.7', () => {
  it('is SQLite 3.44.2, which has the WAL-reset bug: Stent warns at start and names the fix', async () => {
    const database = tempDatabase();
    const logger = new WarningsLogger();
    const app = await Test.createTestingModule({ imports: [StentModule.forRoot({ database: { type: 'sqlite', database: database.file }, worker: false }), EmptyModule] })
      .setLogger(logger)
      .compile();
    try {
      await app.init();
      const deadline = Date.now() + 20_000;
      while (!logger.warnings.some((warning) => warning.includes('WAL-reset bug'))) {
        assert.ok(Date.now() < deadline, `a warning about the WAL-reset bug, got ${JSON.stringify(logger.warnings)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const warning = logger.warnings.find((text) => text.includes('WAL-reset bug'))!;
      assert.match(warning, /version 3\.44\.2/);
      assert.match(warning, /sqlite3 6\.0\.1 or later/);
    } finally {
      await app.close();
      database.dispose();
    }
  });
});
