import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * Paused queues and workflow types: a row each, read by every claim statement (NOT EXISTS on a table of
 * a few rows), so a pause holds across all workers from the moment it commits.
 */
export class StentPauses1737100000000 implements MigrationInterface {
  name = 'StentPauses1737100000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS ${t.pauses} (
      kind VARCHAR(16) NOT NULL,
      name VARCHAR(255) NOT NULL,
      paused_at BIGINT NOT NULL,
      PRIMARY KEY (kind, name)
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.query(`DROP TABLE IF EXISTS ${tableNames(postgres ? this.schema : undefined).pauses}`);
  }
}
