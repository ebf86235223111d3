import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * Pending activity steps by activity and concurrency key, in claim order within a key. A claim of an
 * activity with per-key concurrency reads the keys that have steps waiting from this index alone, then only
 * the first few steps of each key with room, instead of ranking every due step of the activity (a worker
 * holding a thousand runs of one keyed activity has as many such steps, and most keys are full).
 */
export class StentKeyedPending1742100000000 implements MigrationInterface {
  name = 'StentKeyedPending1742100000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ${t.prefix}steps_flow_keyed ON ${t.steps} (name, concurrency_key, priority DESC, available_at, id) WHERE state = 'pending' AND kind = 'activity'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`DROP INDEX IF EXISTS ${postgres && this.schema ? `"${this.schema}".` : ''}${t.prefix}steps_flow_keyed`);
  }
}
