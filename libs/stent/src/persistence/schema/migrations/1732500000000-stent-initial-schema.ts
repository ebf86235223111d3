import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tableNames, type TableNames } from '../table-names.js';

function statements(dialect: 'sqlite' | 'postgres', t: TableNames): string[] {
  const time = 'BIGINT';
  const int = 'INTEGER';
  return [
    `CREATE TABLE IF NOT EXISTS ${t.executions} (
      id VARCHAR(128) PRIMARY KEY,
      workflow_name VARCHAR(255) NOT NULL,
      state VARCHAR(16) NOT NULL,
      args TEXT NOT NULL,
      result TEXT NULL,
      error TEXT NULL,
      queue VARCHAR(128) NOT NULL DEFAULT 'default',
      priority ${int} NOT NULL DEFAULT 0,
      tags TEXT NOT NULL DEFAULT '[]',
      parent_id VARCHAR(128) NULL,
      parent_position ${int} NULL,
      idempotency_key VARCHAR(255) NULL,
      created_at ${time} NOT NULL,
      updated_at ${time} NOT NULL,
      started_at ${time} NULL,
      finished_at ${time} NULL,
      deadline_at ${time} NULL,
      max_duration_ms ${time} NULL,
      wake_at ${time} NULL,
      lease_owner VARCHAR(255) NULL,
      lease_epoch ${int} NOT NULL DEFAULT 0,
      lease_expires_at ${time} NULL,
      recoveries ${int} NOT NULL DEFAULT 0,
      progress TEXT NULL,
      counters TEXT NULL,
      custom_state TEXT NULL,
      trace_context TEXT NULL
    )`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${t.prefix}executions_idempotency ON ${t.executions} (idempotency_key)`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}executions_claim ON ${t.executions} (wake_at) WHERE lease_owner IS NULL AND wake_at IS NOT NULL AND state IN ('pending', 'running')`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}executions_lease ON ${t.executions} (lease_owner, lease_expires_at) WHERE lease_owner IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}executions_state ON ${t.executions} (state, created_at)`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}executions_workflow ON ${t.executions} (workflow_name, created_at)`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}executions_parent ON ${t.executions} (parent_id) WHERE parent_id IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${t.steps} (
      id VARCHAR(64) PRIMARY KEY,
      execution_id VARCHAR(128) NOT NULL,
      position ${int} NOT NULL,
      kind VARCHAR(16) NOT NULL,
      name VARCHAR(255) NOT NULL,
      args TEXT NULL,
      state VARCHAR(16) NOT NULL,
      result TEXT NULL,
      error TEXT NULL,
      attempts ${int} NOT NULL DEFAULT 0,
      retry_policy TEXT NULL,
      timeout_ms ${int} NULL,
      queue VARCHAR(128) NOT NULL DEFAULT 'default',
      priority ${int} NOT NULL DEFAULT 0,
      tags TEXT NOT NULL DEFAULT '[]',
      max_concurrent ${int} NULL,
      available_at ${time} NOT NULL,
      fire_at ${time} NULL,
      lease_owner VARCHAR(255) NULL,
      lease_epoch ${int} NOT NULL DEFAULT 0,
      lease_expires_at ${time} NULL,
      recoveries ${int} NOT NULL DEFAULT 0,
      created_at ${time} NOT NULL,
      started_at ${time} NULL,
      finished_at ${time} NULL,
      child_execution_id VARCHAR(128) NULL
    )`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${t.prefix}steps_position ON ${t.steps} (execution_id, position)`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}steps_claim ON ${t.steps} (queue, available_at) WHERE state = 'pending' AND kind = 'activity'`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}steps_running ON ${t.steps} (name) WHERE state = 'running'`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}steps_lease ON ${t.steps} (lease_owner, lease_expires_at) WHERE state = 'running'`,
    `CREATE TABLE IF NOT EXISTS ${t.deadLetters} (
      id VARCHAR(64) PRIMARY KEY,
      step_id VARCHAR(64) NULL,
      execution_id VARCHAR(128) NOT NULL,
      kind VARCHAR(16) NOT NULL,
      name VARCHAR(255) NOT NULL,
      args TEXT NULL,
      error TEXT NULL,
      attempts ${int} NOT NULL DEFAULT 0,
      reason VARCHAR(255) NOT NULL,
      created_at ${time} NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}dead_letters_created ON ${t.deadLetters} (created_at)`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}dead_letters_execution ON ${t.deadLetters} (execution_id)`,
    `CREATE TABLE IF NOT EXISTS ${t.workers} (
      id VARCHAR(255) PRIMARY KEY,
      hostname VARCHAR(255) NOT NULL,
      pid ${int} NOT NULL,
      queues TEXT NOT NULL,
      state VARCHAR(16) NOT NULL,
      started_at ${time} NOT NULL,
      heartbeat_at ${time} NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS ${t.signals} (
      seq ${dialect === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT'},
      execution_id VARCHAR(128) NOT NULL,
      name VARCHAR(255) NOT NULL,
      payload TEXT NOT NULL,
      created_at ${time} NOT NULL,
      consumed_at ${time} NULL,
      consumed_position ${int} NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${t.prefix}signals_pending ON ${t.signals} (execution_id, name, seq) WHERE consumed_at IS NULL`,
    `CREATE TABLE IF NOT EXISTS ${t.cache} (
      cache_key VARCHAR(255) PRIMARY KEY,
      name VARCHAR(255) NOT NULL,
      result TEXT NOT NULL,
      created_at ${time} NOT NULL,
      expires_at ${time} NULL
    )`,
  ];
}

/** Tables of executions, journal steps, dead letters and workers. */
export class StentInitialSchema1732500000000 implements MigrationInterface {
  name = 'StentInitialSchema1732500000000';

  constructor(private readonly schema?: string) {}

  async up(queryRunner: QueryRunner): Promise<void> {
    const dialect = queryRunner.connection.options.type === 'postgres' ? 'postgres' : 'sqlite';
    for (const sql of statements(dialect, tableNames(dialect === 'postgres' ? this.schema : undefined))) await queryRunner.query(sql);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const dialect = queryRunner.connection.options.type === 'postgres' ? 'postgres' : 'sqlite';
    const t = tableNames(dialect === 'postgres' ? this.schema : undefined);
    for (const table of [t.cache, t.signals, t.workers, t.deadLetters, t.steps, t.executions]) await queryRunner.query(`DROP TABLE IF EXISTS ${table}`);
  }
}
