import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * PostgreSQL: waiting steps that carry a concurrency key, by activity and key, for the walk that finds an
 * activity's keys with steps waiting (one probe a key). steps_flow_keyed holds the same pairs, but so does
 * steps_flow_pending by activity, and on tables never analyzed (a new deployment's, or any on a server
 * with autovacuum off) a plan made while they were small could read each probe through the latter: every
 * waiting step of the activity, sorted, at each key. The walk's probe states only what this index's
 * condition needs (no `kind`: only activity steps carry a key), so no other index can serve it.
 * SQLite plans the walk on steps_flow_keyed by the activity's name alone, and gets no such index.
 */
export class StentKeyWalk1744000000000 implements MigrationInterface {
  name = 'StentKeyWalk1744000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    const t = tableNames(this.schema);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${t.prefix}steps_flow_walk ON ${t.steps} (name, concurrency_key) WHERE state = 'pending' AND concurrency_key IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    const t = tableNames(this.schema);
    await queryRunner.query(`DROP INDEX IF EXISTS ${this.schema ? `"${this.schema}".` : ''}${t.prefix}steps_flow_walk`);
  }
}
