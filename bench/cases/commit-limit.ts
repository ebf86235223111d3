import { withFreshDatabase } from '../database.js';
import { postgresCommitLimit, postgresCommitSettings, sqliteCommitLimit } from '../commit-limit.js';
import { log, round, stepsPerSecond } from '../report.js';
import type { CaseContext } from './bench-case.js';

const DURATION_MS = 1_500;
const POSTGRES_CLIENTS = [1, 8];

/**
 * `commit_limit`: the database's own single-row commit rate, measured on a fresh database of its own.
 * Always measured (the other cases report their rate relative to it); printed only when `print` is set.
 * Returns the single-client rate.
 */
export async function measureCommitLimit(context: CaseContext, print: boolean): Promise<number> {
  const { db } = context;
  return withFreshDatabase(db, 'commit_limit', async (database) => {
    // sqlite3 is compared with the same file's own commit rate (the database's limit, whichever driver).
    if (db !== 'postgres') {
      log(`${db}: measuring the commit limit (single-row INSERT transactions, WAL, synchronous=NORMAL)`);
      const rate = sqliteCommitLimit(database.file!, DURATION_MS);
      if (print) {
        await context.emit({ case: 'commit_limit', db, workers: 0, steps: rate.commits, seconds: rate.seconds, extra: { clients: 1, journal_mode: 'wal', synchronous: 'normal' } });
      }
      return stepsPerSecond(rate.commits, rate.seconds);
    }
    const settings = await postgresCommitSettings();
    let single = 0;
    for (const clients of POSTGRES_CLIENTS) {
      log(`postgres: measuring the commit limit with ${clients} client(s) (single-row autocommit INSERTs)`);
      const rate = await postgresCommitLimit(database.schema!, clients, DURATION_MS);
      if (clients === 1) single = stepsPerSecond(rate.commits, rate.seconds);
      const dbCpu = rate.dbCpuMs === undefined ? undefined : round(rate.dbCpuMs / rate.commits, 3);
      if (print) await context.emit({ case: 'commit_limit', db, workers: 0, steps: rate.commits, seconds: rate.seconds, extra: { clients, ...settings, db_cpu_ms_per_commit: dbCpu } });
    }
    return single;
  });
}
