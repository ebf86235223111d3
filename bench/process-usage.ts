import { sqlCounts, type SqlCounts } from './sql-counter.js';

/** What one process used so far: CPU (user + system, µs) and the statements it sent. */
export interface ProcessUsage {
  cpuUs: number;
  sql: SqlCounts;
}

export function ownUsage(): ProcessUsage {
  const cpu = process.cpuUsage();
  return { cpuUs: cpu.user + cpu.system, sql: sqlCounts() };
}
