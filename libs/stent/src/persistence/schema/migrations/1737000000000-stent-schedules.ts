import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * Schedules: a row per cron workflow with its expression, zone, policies and next tick. Workers fire a
 * due schedule by moving `next_tick_at` on with a conditional UPDATE in the transaction that creates the
 * tick's run (under the tick's idempotency key), so each tick starts one execution across all workers.
 */
export class StentSchedules1737000000000 implements MigrationInterface {
  name = 'StentSchedules1737000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS ${t.schedules} (
      name VARCHAR(200) PRIMARY KEY,
      workflow_name VARCHAR(255) NOT NULL,
      cron VARCHAR(255) NOT NULL,
      timezone VARCHAR(64) NOT NULL,
      args TEXT NOT NULL DEFAULT '[]',
      catch_up INTEGER NOT NULL DEFAULT 0,
      overlap VARCHAR(8) NOT NULL DEFAULT 'allow',
      state VARCHAR(16) NOT NULL DEFAULT 'active',
      source VARCHAR(16) NOT NULL,
      queue VARCHAR(128) NOT NULL DEFAULT 'default',
      priority INTEGER NULL,
      tags TEXT NOT NULL DEFAULT '[]',
      max_duration_ms BIGINT NULL,
      next_tick_at BIGINT NULL,
      last_tick_at BIGINT NULL,
      last_execution_id VARCHAR(128) NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${t.prefix}schedules_due ON ${t.schedules} (next_tick_at) WHERE state = 'active'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.query(`DROP TABLE IF EXISTS ${tableNames(postgres ? this.schema : undefined).schedules}`);
  }
}
