import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * Dispatches that share a key: debounced ones (the execution of a key that has not started yet, and when
 * the burst began) and singletons (the execution of a key going on, and those queued behind it, oldest first).
 */
export class StentDispatchKeys1737200000000 implements MigrationInterface {
  name = 'StentDispatchKeys1737200000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS ${t.debounces} (
      workflow_name VARCHAR(255) NOT NULL,
      dispatch_key VARCHAR(255) NOT NULL,
      execution_id VARCHAR(128) NOT NULL,
      first_at BIGINT NOT NULL,
      PRIMARY KEY (workflow_name, dispatch_key)
    )`);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS ${t.singletons} (
      workflow_name VARCHAR(255) NOT NULL,
      dispatch_key VARCHAR(255) NOT NULL,
      holder_id VARCHAR(128) NOT NULL,
      PRIMARY KEY (workflow_name, dispatch_key)
    )`);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS ${t.singletonWaiters} (
      execution_id VARCHAR(128) PRIMARY KEY,
      workflow_name VARCHAR(255) NOT NULL,
      dispatch_key VARCHAR(255) NOT NULL,
      queued_at BIGINT NOT NULL
    )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${t.prefix}singleton_waiters_turn ON ${t.singletonWaiters} (workflow_name, dispatch_key, queued_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    for (const table of [t.singletonWaiters, t.singletons, t.debounces]) await queryRunner.query(`DROP TABLE IF EXISTS ${table}`);
  }
}
