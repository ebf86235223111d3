import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * The order in which a workflow saw its durable calls settle, so a replay hands results back in that
 * same order (the turn a step was called in, the turn and sequence number of its delivery), and where a
 * revived execution retries from (the failed step's position; the steps recorded after the workflow saw it
 * fail are tentative until the replay repeats them).
 */
export class StentDeliveryOrder1733000000000 implements MigrationInterface {
  name = 'StentDeliveryOrder1733000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`ALTER TABLE ${t.steps} ADD COLUMN call_turn INTEGER NOT NULL DEFAULT 0`);
    await queryRunner.query(`ALTER TABLE ${t.steps} ADD COLUMN delivered_turn INTEGER NULL`);
    await queryRunner.query(`ALTER TABLE ${t.steps} ADD COLUMN delivered_seq INTEGER NULL`);
    await queryRunner.query(`ALTER TABLE ${t.steps} ADD COLUMN tentative INTEGER NOT NULL DEFAULT 0`);
    await queryRunner.query(`ALTER TABLE ${t.executions} ADD COLUMN revive_position INTEGER NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`ALTER TABLE ${t.executions} DROP COLUMN revive_position`);
    for (const column of ['tentative', 'delivered_seq', 'delivered_turn', 'call_turn']) await queryRunner.query(`ALTER TABLE ${t.steps} DROP COLUMN ${column}`);
  }
}
