import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * How executions relate across code versions and across their history: the workflow version that
 * started each one (workers claim only versions they can replay), the execution a continue-as-new
 * ended in or started from, and the execution (and position) a fork or a rewind reused the journal of.
 */
export class StentHistory1738000000000 implements MigrationInterface {
  name = 'StentHistory1738000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`ALTER TABLE ${t.executions} ADD COLUMN workflow_version INTEGER NULL`);
    await queryRunner.query(`ALTER TABLE ${t.executions} ADD COLUMN continued_from VARCHAR(128) NULL`);
    await queryRunner.query(`ALTER TABLE ${t.executions} ADD COLUMN continued_as VARCHAR(128) NULL`);
    await queryRunner.query(`ALTER TABLE ${t.executions} ADD COLUMN forked_from VARCHAR(128) NULL`);
    await queryRunner.query(`ALTER TABLE ${t.executions} ADD COLUMN forked_at INTEGER NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    for (const column of ['forked_at', 'forked_from', 'continued_as', 'continued_from', 'workflow_version']) {
      await queryRunner.query(`ALTER TABLE ${t.executions} DROP COLUMN ${column}`);
    }
  }
}
