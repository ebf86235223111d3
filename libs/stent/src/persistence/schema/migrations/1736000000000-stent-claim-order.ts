import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames } from '../table-names.js';

/**
 * Indexes in the order claims take work: within a queue, highest priority first, then the oldest due.
 * A claim then reads the first rows of its queue's index instead of sorting every due row, so a large
 * backlog (in its own queue or behind higher-priority work) does not slow every claim down. They replace
 * the indexes on (queue, available_at) and on wake_at alone: PostgreSQL preferred the smaller wake_at index
 * for the dispatch's "is this queue busy" check and read the whole backlog of other queues to answer it.
 */
export class StentClaimOrder1736000000000 implements MigrationInterface {
  name = 'StentClaimOrder1736000000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ${t.prefix}executions_claim_order ON ${t.executions} (queue, priority DESC, wake_at) WHERE lease_owner IS NULL AND wake_at IS NOT NULL AND state IN ('pending', 'running')`,
    );
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ${t.prefix}steps_claim_order ON ${t.steps} (queue, priority DESC, available_at) WHERE state = 'pending' AND kind = 'activity'`,
    );
    for (const name of ['steps_claim', 'executions_claim']) await queryRunner.query(`DROP INDEX IF EXISTS ${this.qualified(postgres, t.prefix, name)}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const t = tableNames(postgres ? this.schema : undefined);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${t.prefix}steps_claim ON ${t.steps} (queue, available_at) WHERE state = 'pending' AND kind = 'activity'`);
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ${t.prefix}executions_claim ON ${t.executions} (wake_at) WHERE lease_owner IS NULL AND wake_at IS NOT NULL AND state IN ('pending', 'running')`,
    );
    for (const name of ['steps_claim_order', 'executions_claim_order']) await queryRunner.query(`DROP INDEX IF EXISTS ${this.qualified(postgres, t.prefix, name)}`);
  }

  /** DROP INDEX names the index with its schema on PostgreSQL (it lives beside its table). */
  private qualified(postgres: boolean, prefix: string, name: string): string {
    return postgres && this.schema ? `"${this.schema}".${prefix}${name}` : `${prefix}${name}`;
  }
}
