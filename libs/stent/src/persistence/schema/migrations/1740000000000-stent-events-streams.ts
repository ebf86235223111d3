import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * Durable events and streams. An event is one value per (execution, key), replaced by a later set; a
 * stream is a numbered list of entries per (execution, key), the last one a close marker (closed = 1,
 * no chunk) when the workflow closed it. Both rows are written in the transaction that records the
 * journal step making them; `position` names that step, so a dropped step (a revive's tentative step)
 * takes its rows with it.
 */
export class StentEventsStreams1740000000000 implements MigrationInterface {
  name = 'StentEventsStreams1740000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS ${t.events} (
      execution_id VARCHAR(128) NOT NULL,
      event_key VARCHAR(255) NOT NULL,
      value TEXT NOT NULL,
      position INTEGER NOT NULL,
      set_at BIGINT NOT NULL,
      PRIMARY KEY (execution_id, event_key)
    )`);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS ${t.streams} (
      execution_id VARCHAR(128) NOT NULL,
      stream_key VARCHAR(255) NOT NULL,
      seq INTEGER NOT NULL,
      chunk TEXT NULL,
      closed INTEGER NOT NULL DEFAULT 0,
      position INTEGER NOT NULL,
      written_at BIGINT NOT NULL,
      PRIMARY KEY (execution_id, stream_key, seq)
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`DROP TABLE IF EXISTS ${t.streams}`);
    await queryRunner.query(`DROP TABLE IF EXISTS ${t.events}`);
  }
}
