import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * A row per periodic maintenance job (retention): when it last ran, by which worker, and when it is due
 * next. Workers race to move `next_run_at` forward with one conditional UPDATE; the one that changes the
 * row runs the job for that period, so however many workers share the database it runs once per period.
 */
export class StentMaintenance1735000000000 implements MigrationInterface {
  name = 'StentMaintenance1735000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS ${t.maintenance} (
      name VARCHAR(64) PRIMARY KEY,
      owner VARCHAR(255) NULL,
      last_run_at BIGINT NULL,
      next_run_at BIGINT NOT NULL
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.query(`DROP TABLE IF EXISTS ${tableNames(postgres ? this.schema : undefined).maintenance}`);
  }
}
