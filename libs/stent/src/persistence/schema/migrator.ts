import type { DataSource, MigrationInterface } from 'typeorm';
import { StentInitialSchema1732500000000 } from './migrations/1732500000000-stent-initial-schema.js';
import { StentDeliveryOrder1733000000000 } from './migrations/1733000000000-stent-delivery-order.js';
import { StentAdminViews1734000000000 } from './migrations/1734000000000-stent-admin-views.js';
import { StentMaintenance1735000000000 } from './migrations/1735000000000-stent-maintenance.js';
import { StentClaimOrder1736000000000 } from './migrations/1736000000000-stent-claim-order.js';
import { StentFlowLimits1739000000000 } from './migrations/1739000000000-stent-flow-limits.js';
import { checkSchemaName } from '../../core/index.js';
import type { TableNames } from './table-names.js';

/** Stent's migrations in order. Also usable in an application's own TypeORM migrations list. */
export function stentMigrations(schema?: string): MigrationInterface[] {
  return [new StentInitialSchema1732500000000(schema), new StentDeliveryOrder1733000000000(schema), new StentAdminViews1734000000000(schema), new StentMaintenance1735000000000(schema), new StentClaimOrder1736000000000(schema), new StentFlowLimits1739000000000(schema)];
}

/**
 * Applies Stent's migrations with their own bookkeeping table, so Stent can share an application's
 * DataSource without touching its migration history. Safe when many processes start at once:
 * PostgreSQL serialises them with an advisory lock, SQLite with its write lock.
 */
export async function runStentMigrations(dataSource: DataSource, tables: TableNames, schema?: string): Promise<string[]> {
  // The schema name is written into statements (CREATE SCHEMA, the tables' names), never bound.
  checkSchemaName(schema);
  const postgres = dataSource.options.type === 'postgres';
  const runner = dataSource.createQueryRunner();
  const applied: string[] = [];
  try {
    await runner.connect();
    if (postgres) {
      if (schema) await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`).catch(() => undefined);
      await runner.startTransaction();
      await runner.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`stent:migrations:${schema ?? 'public'}`]);
    } else {
      await runner.query('BEGIN IMMEDIATE');
    }
    try {
      await runner.query(`CREATE TABLE IF NOT EXISTS ${tables.migrations} (name VARCHAR(255) PRIMARY KEY, applied_at BIGINT NOT NULL)`);
      const rows: Array<{ name: string }> = await runner.query(`SELECT name FROM ${tables.migrations}`);
      const done = new Set(rows.map((row) => row.name));
      for (const migration of stentMigrations(schema)) {
        const name = migration.name ?? migration.constructor.name;
        if (done.has(name)) continue;
        await migration.up(runner);
        await runner.query(`INSERT INTO ${tables.migrations} (name, applied_at) VALUES (${postgres ? '$1, $2' : '?, ?'})`, [name, Date.now()]);
        applied.push(name);
      }
      if (postgres) await runner.commitTransaction();
      else await runner.query('COMMIT');
    } catch (error) {
      if (postgres) await runner.rollbackTransaction().catch(() => undefined);
      else await runner.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await runner.release();
  }
  return applied;
}
