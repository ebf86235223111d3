import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * Flow control: the concurrency key and rate-limit key a step was given when it was recorded, and a row per
 * (activity, key) holding that key's current rate window and how long a RateLimitedError parked it. Claims
 * of flow-limited activities lock the activity, count running steps per key and move the window in one
 * transaction, so limits hold across processes.
 */
export class StentFlowLimits1739000000000 implements MigrationInterface {
  name = 'StentFlowLimits1739000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`ALTER TABLE ${t.steps} ADD COLUMN concurrency_key VARCHAR(255) NULL`);
    await queryRunner.query(`ALTER TABLE ${t.steps} ADD COLUMN rate_key VARCHAR(255) NULL`);
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ${t.prefix}steps_flow_running ON ${t.steps} (name, concurrency_key) WHERE state = 'running' AND concurrency_key IS NOT NULL`,
    );
    // Claims of a flow-limited activity read its due steps by name (other activities' backlogs aside).
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ${t.prefix}steps_flow_pending ON ${t.steps} (name, available_at) WHERE state = 'pending' AND kind = 'activity'`,
    );
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS ${t.flowKeys} (
      name VARCHAR(255) NOT NULL,
      flow_key VARCHAR(255) NOT NULL,
      window_start BIGINT NOT NULL DEFAULT 0,
      used INTEGER NOT NULL DEFAULT 0,
      blocked_until BIGINT NULL,
      PRIMARY KEY (name, flow_key)
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`DROP TABLE IF EXISTS ${t.flowKeys}`);
    for (const index of ['steps_flow_running', 'steps_flow_pending']) {
      await queryRunner.query(`DROP INDEX IF EXISTS ${postgres && this.schema ? `"${this.schema}".` : ''}${t.prefix}${index}`);
    }
    await queryRunner.query(`ALTER TABLE ${t.steps} DROP COLUMN rate_key`);
    await queryRunner.query(`ALTER TABLE ${t.steps} DROP COLUMN concurrency_key`);
  }
}
