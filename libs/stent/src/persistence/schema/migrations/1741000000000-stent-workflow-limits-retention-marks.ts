import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * Flow limits of workflows: the concurrency and rate keys an execution was given at dispatch, with
 * indexes for what a limited claim reads (executions holding a worker, per key; due executions of one
 * workflow). Flow-key rows get the end of their rate window, so retention can tell which are spent; on
 * PostgreSQL their name widens to hold a workflow's rows ('workflow:' and its name). A schedule keeps the
 * latest tick whose run retention removed, so a backfill does not start that tick (or an earlier one) again.
 */
export class StentWorkflowLimitsRetentionMarks1741000000000 implements MigrationInterface {
  name = 'StentWorkflowLimitsRetentionMarks1741000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`ALTER TABLE ${t.executions} ADD COLUMN concurrency_key VARCHAR(255) NULL`);
    await queryRunner.query(`ALTER TABLE ${t.executions} ADD COLUMN rate_key VARCHAR(255) NULL`);
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ${t.prefix}executions_flow_held ON ${t.executions} (workflow_name, concurrency_key) WHERE lease_owner IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ${t.prefix}executions_flow_due ON ${t.executions} (workflow_name, wake_at) WHERE lease_owner IS NULL AND wake_at IS NOT NULL AND state IN ('pending', 'running')`,
    );
    await queryRunner.query(`ALTER TABLE ${t.flowKeys} ADD COLUMN window_end BIGINT NULL`);
    if (postgres) await queryRunner.query(`ALTER TABLE ${t.flowKeys} ALTER COLUMN name TYPE VARCHAR(300)`);
    await queryRunner.query(`ALTER TABLE ${t.schedules} ADD COLUMN removed_through BIGINT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`ALTER TABLE ${t.schedules} DROP COLUMN removed_through`);
    await queryRunner.query(`DELETE FROM ${t.flowKeys} WHERE name LIKE 'workflow:%'`);
    if (postgres) await queryRunner.query(`ALTER TABLE ${t.flowKeys} ALTER COLUMN name TYPE VARCHAR(255)`);
    await queryRunner.query(`ALTER TABLE ${t.flowKeys} DROP COLUMN window_end`);
    for (const index of ['executions_flow_held', 'executions_flow_due']) {
      await queryRunner.query(`DROP INDEX IF EXISTS ${postgres && this.schema ? `"${this.schema}".` : ''}${t.prefix}${index}`);
    }
    await queryRunner.query(`ALTER TABLE ${t.executions} DROP COLUMN rate_key`);
    await queryRunner.query(`ALTER TABLE ${t.executions} DROP COLUMN concurrency_key`);
  }
}
