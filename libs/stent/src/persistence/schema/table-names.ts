import { checkSchemaName } from '../../core/index.js';

/** Stent's table names, optionally inside a PostgreSQL schema. All are prefixed `stent_`. */
export interface TableNames {
  /** The PostgreSQL schema the tables are in (undefined: the connection's search path). */
  schema?: string;
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
  /** Schedules: cron workflows and when each fires next. */
  schedules: string;
  /** Paused queues and workflow types: claims skip their work. */
  pauses: string;
  /** Debounced dispatches: per workflow and key, the execution that has not started yet. */
  debounces: string;
  /** Singleton dispatches: per workflow and key, the execution going on, and those queued behind it. */
  singletons: string;
  singletonWaiters: string;
  /** Values executions published with Stent.setEvent, one per (execution, key). */
  events: string;
  /** Entries of executions' streams (Stent.writeStream / closeStream), numbered per (execution, key). */
  streams: string;
  /** Flow-control keys: an activity's rate window per key and how long a key is parked. */
  flowKeys: string;
  migrations: string;
}

export function tableNames(schema?: string): TableNames {
  checkSchemaName(schema);
  const q = (name: string) => (schema ? `"${schema}"."${name}"` : name);
  return {
    schema,
    prefix: 'stent_',
    executions: q('stent_executions'),
    steps: q('stent_steps'),
    deadLetters: q('stent_dead_letters'),
    workers: q('stent_workers'),
    signals: q('stent_signals'),
    cache: q('stent_cache'),
    maintenance: q('stent_maintenance'),
    schedules: q('stent_schedules'),
    pauses: q('stent_pauses'),
    debounces: q('stent_debounces'),
    singletons: q('stent_singletons'),
    singletonWaiters: q('stent_singleton_waiters'),
    events: q('stent_events'),
    streams: q('stent_stream_entries'),
    flowKeys: q('stent_flow_keys'),
    migrations: q('stent_migrations'),
  };
}
