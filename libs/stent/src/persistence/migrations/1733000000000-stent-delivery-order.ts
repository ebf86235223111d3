import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * The order in which a workflow saw its durable calls settle, so a replay hands results back in that
 * same order: the turn a step was called in, and the turn and sequence number of its delivery.
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
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    for (const column of ['delivered_seq', 'delivered_turn', 'call_turn']) await queryRunner.query(`ALTER TABLE ${t.steps} DROP COLUMN ${column}`);
  }
}
