import { checkSchemaName } from '../../core/index.js';

/** Stent's table names, optionally inside a PostgreSQL schema. All are prefixed `stent_`. */
export interface TableNames {
  /** Prefix for index names (indexes live in the table's schema). */
  prefix: string;
  executions: string;
  steps: string;
  deadLetters: string;
  workers: string;
  signals: string;
  cache: string;
  /** Periodic maintenance jobs (retention): who ran them last and when they are due. */
  maintenance: string;
  /** Flow-control keys: an activity's rate window per key and how long a key is parked. */
  flowKeys: string;
  migrations: string;
}

export function tableNames(schema?: string): TableNames {
  checkSchemaName(schema);
  const q = (name: string) => (schema ? `"${schema}"."${name}"` : name);
  return {
    prefix: 'stent_',
    executions: q('stent_executions'),
    steps: q('stent_steps'),
    deadLetters: q('stent_dead_letters'),
    workers: q('stent_workers'),
    signals: q('stent_signals'),
    cache: q('stent_cache'),
    maintenance: q('stent_maintenance'),
    flowKeys: q('stent_flow_keys'),
    migrations: q('stent_migrations'),
  };
}
