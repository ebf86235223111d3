import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import type { SqlExecutor } from '../clients/sql-client.js';
import { StentInitialSchema1732500000000 } from './migrations/1732500000000-stent-initial-schema.js';
import { StentDeliveryOrder1733000000000 } from './migrations/1733000000000-stent-delivery-order.js';
import { StentAdminViews1734000000000 } from './migrations/1734000000000-stent-admin-views.js';
import { StentMaintenance1735000000000 } from './migrations/1735000000000-stent-maintenance.js';
import { StentClaimOrder1736000000000 } from './migrations/1736000000000-stent-claim-order.js';
import { StentSchedules1737000000000 } from './migrations/1737000000000-stent-schedules.js';
import { StentPauses1737100000000 } from './migrations/1737100000000-stent-pauses.js';
import { StentDispatchKeys1737200000000 } from './migrations/1737200000000-stent-dispatch-keys.js';
import { StentHistory1738000000000 } from './migrations/1738000000000-stent-history.js';
import { StentFlowLimits1739000000000 } from './migrations/1739000000000-stent-flow-limits.js';
import { StentEventsStreams1740000000000 } from './migrations/1740000000000-stent-events-streams.js';
import { StentWorkflowLimitsRetentionMarks1741000000000 } from './migrations/1741000000000-stent-workflow-limits-retention-marks.js';
import { StentKeyedPending1742100000000 } from './migrations/1742100000000-stent-keyed-pending.js';
import { StentPlainClaimOrder1743000000000 } from './migrations/1743000000000-stent-plain-claim-order.js';
import { StentKeyWalk1744000000000 } from './migrations/1744000000000-stent-key-walk.js';
import { checkSchemaName } from '../../core/index.js';
import { tableNames, type TableNames } from './table-names.js';

/**
 * Stent's migration classes in order, for an application's own TypeORM `migrations` option (which takes
 * classes, not instances; made without arguments they use the connection's default schema).
 */
export const stentMigrationClasses = [
  StentInitialSchema1732500000000,
  StentDeliveryOrder1733000000000,
  StentAdminViews1734000000000,
  StentMaintenance1735000000000,
  StentClaimOrder1736000000000,
  StentSchedules1737000000000,
  StentPauses1737100000000,
  StentDispatchKeys1737200000000,
  StentHistory1738000000000,
  StentFlowLimits1739000000000,
  StentEventsStreams1740000000000,
  StentWorkflowLimitsRetentionMarks1741000000000,
  StentKeyedPending1742100000000,
  StentPlainClaimOrder1743000000000,
  StentKeyWalk1744000000000,
] as const;

/** Stent's migrations in order, as instances for a PostgreSQL schema (for runStentMigrations or a QueryRunner of your own). */
export function stentMigrations(schema?: string): MigrationInterface[] {
  return stentMigrationClasses.map((migration) => new migration(schema));
}

/**
 * Applies Stent's migrations with their own bookkeeping table, so Stent can share an application's
 * DataSource without touching its migration history. Safe when many processes start at once:
 * PostgreSQL serialises them with an advisory lock, SQLite with its write lock.
 */
export async function runStentMigrations(dataSource: DataSource, tables?: TableNames, schema?: string): Promise<string[]> {
  // The schema name is written into statements (CREATE SCHEMA, the tables' names), never bound.
  checkSchemaName(schema);
  const postgresSchema = dataSource.options.type === 'postgres' ? schema : undefined;
  return applyWithRunner(dataSource, tables ?? tableNames(postgresSchema), schema);
}

async function applyWithRunner(dataSource: DataSource, tables: TableNames, schema: string | undefined): Promise<string[]> {
  return applyInOwnTransaction(dataSource.createQueryRunner(), dataSource.options.type === 'postgres', tables, schema);
}

/**
 * What the pool migration needs of a pg Pool, written out so that this file's declarations, which the
 * package's entry point reaches, do not need the `pg` package's types (an app on SQLite has none).
 */
interface PoolLike {
  connect(): Promise<{ query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>; release(): void }>;
}

/**
 * Applies Stent's migrations on a pg Pool Stent opened itself (no DataSource), on one connection of it,
 * as runStentMigrations does on a DataSource's. Statements without parameters go as simple queries, as
 * TypeORM's query runner sends them.
 */
export function applyStentMigrationsOnPool(pool: PoolLike, tables: TableNames, schema: string | undefined): Promise<string[]> {
  checkSchemaName(schema);
  let client: Awaited<ReturnType<PoolLike['connect']>> | undefined;
  const query = async (sql: string, params?: unknown[]) => (await client!.query(sql, params)).rows;
  const runner = {
    connection: { options: { type: 'postgres' } },
    connect: async () => (client = await pool.connect()),
    query,
    startTransaction: () => query('BEGIN'),
    commitTransaction: () => query('COMMIT'),
    rollbackTransaction: () => query('ROLLBACK'),
    release: async () => client?.release(),
  } as unknown as QueryRunner;
  return applyInOwnTransaction(runner, true, tables, schema);
}

async function applyInOwnTransaction(runner: QueryRunner, postgres: boolean, tables: TableNames, schema: string | undefined): Promise<string[]> {
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
      applied.push(...(await applyPending(runner, tables, schema, postgres)));
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

/** Creates the bookkeeping table and applies the migrations it does not list, inside the caller's transaction. */
async function applyPending(runner: QueryRunner, tables: TableNames, schema: string | undefined, postgres: boolean): Promise<string[]> {
  const applied: string[] = [];
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
  return applied;
}

/**
 * Applies Stent's migrations on a SQLite transaction of Stent's own client (a file opened with the
 * sqlite3 package, no DataSource). The migrations ask their query runner for two things only, query()
 * and the connection's type, so this runner has just those.
 */
export function applyStentMigrationsInTransaction(tx: SqlExecutor, tables: TableNames): Promise<string[]> {
  const runner = {
    query: (sql: string, params?: unknown[]) => tx.query(sql, params),
    connection: { options: { type: 'sqlite' } },
  } as unknown as QueryRunner;
  return applyPending(runner, tables, undefined, false);
}
