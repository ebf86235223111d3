import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * What the admin API and the CLI show: what each worker serves (tags, workflows with their dispatch
 * defaults, activities, its concurrency and lease, so a silent one can be told from a live one), and indexes on finished_at for
 * throughput per minute (and retention) without reading every finished row.
 */
export class StentAdminViews1734000000000 implements MigrationInterface {
  name = 'StentAdminViews1734000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`ALTER TABLE ${t.workers} ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'`);
    await queryRunner.query(`ALTER TABLE ${t.workers} ADD COLUMN workflows TEXT NOT NULL DEFAULT '[]'`);
    await queryRunner.query(`ALTER TABLE ${t.workers} ADD COLUMN activities TEXT NOT NULL DEFAULT '[]'`);
    await queryRunner.query(`ALTER TABLE ${t.workers} ADD COLUMN concurrency INTEGER NULL`);
    await queryRunner.query(`ALTER TABLE ${t.workers} ADD COLUMN lease_ms BIGINT NULL`);
    await queryRunner.query(`ALTER TABLE ${t.workers} ADD COLUMN workflow_routes TEXT NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${t.prefix}workers_heartbeat ON ${t.workers} (heartbeat_at)`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${t.prefix}executions_finished ON ${t.executions} (finished_at) WHERE finished_at IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${t.prefix}steps_finished ON ${t.steps} (finished_at) WHERE kind = 'activity' AND finished_at IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    const index = (name: string) => (postgres && this.schema ? `"${this.schema}".${t.prefix}${name}` : `${t.prefix}${name}`);
    for (const name of ['steps_finished', 'executions_finished', 'workers_heartbeat']) await queryRunner.query(`DROP INDEX IF EXISTS ${index(name)}`);
    for (const column of ['workflow_routes', 'lease_ms', 'concurrency', 'activities', 'workflows', 'tags']) await queryRunner.query(`ALTER TABLE ${t.workers} DROP COLUMN ${column}`);
  }
}
