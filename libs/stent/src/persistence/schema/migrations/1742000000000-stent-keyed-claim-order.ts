import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * On SQLite, claims of an activity with per-key concurrency alone read its pending steps key by key, each
 * key's in claim order (priority, then due time): this index lets them seek from one key to the next and
 * read only the first steps of the keys with room, whatever the backlog behind them. PostgreSQL keeps the
 * ranked claim, which does not use it, so it gets no index to maintain.
 */
export class StentKeyedClaimOrder1742000000000 implements MigrationInterface {
  name = 'StentKeyedClaimOrder1742000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    if (postgres) return;
    const t = tableNames(undefined);
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ${t.prefix}steps_flow_keyed ON ${t.steps} (name, concurrency_key, priority DESC, available_at, id) WHERE state = 'pending' AND kind = 'activity'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'postgres') return;
    await queryRunner.query(`DROP INDEX IF EXISTS ${tableNames(undefined).prefix}steps_flow_keyed`);
  }
}
