import { readFileSync } from 'node:fs';
import pg from 'pg';
import { withPostgres } from './database.js';
import { uncounted } from './sql-counter.js';

/** Linux reports a process's CPU time in /proc in ticks of 1/100 s (USER_HZ). */
const MS_PER_TICK = 10;

/** A connection for reading the server's own statistics, left out of the bench's statement counts. */
const probe = <T>(use: (client: pg.Client) => Promise<T>): Promise<T> => withPostgres(use, uncounted);

/** CPU time (ms) a process used so far, from /proc/<pid>/stat (utime + stime); undefined once it is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is the first, utime the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  } catch {
    return undefined;
  }
}

/**
 * CPU time of every backend serving the bench's database, by pid. The server runs on this machine, so
 * its processes' /proc entries are readable; the bench has the database to itself, so these are its own.
 */
export async function backendCpu(): Promise<Map<number, number>> {
  const rows = await probe(async (client) => (await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows);
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = processCpuMs(pid);
    if (ms !== undefined) cpu.set(pid, ms);
  }
  return cpu;
}

/** CPU the backends used between two readings (a backend that started in between counts from zero). */
export function backendCpuSince(start: Map<number, number>, end: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of end) total += ms - (start.get(pid) ?? 0);
  return total;
}

/**
 * The server's count of committed transactions in the bench's database. A backend reports its counts
 * at most once a second while busy and up to 10 s late once idle, so this is exact only once the
 * backends that did the work have exited (the runner reads it before and after a whole case).
 */
export async function serverCommits(): Promise<number> {
  return probe(async (client) => {
    const { rows } = await client.query<{ xact_commit: string }>('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()');
    return Number(rows[0]?.xact_commit ?? 0);
  });
}
