import type { Db } from './options.js';
import { round } from './report.js';
import { backendCpu, backendCpuSince } from './server-usage.js';
import { ownUsage, type ProcessUsage } from './process-usage.js';

/** Usage of other processes taking part (worker processes), read at both ends of a window. */
export type RemoteUsage = () => Promise<ProcessUsage[]>;

const total = (usages: ProcessUsage[]): ProcessUsage =>
  usages.reduce(
    (sum, u) => ({
      cpuUs: sum.cpuUs + u.cpuUs,
      sql: { statements: sum.sql.statements + u.sql.statements, transactions: sum.sql.transactions + u.sql.transactions, commits: sum.sql.commits + u.sql.commits },
    }),
    { cpuUs: 0, sql: { statements: 0, transactions: 0, commits: 0 } },
  );

/** What a stretch of a case used, for its result line (per step once divided). */
export interface UsageFigures {
  statements: number;
  transactions: number;
  commits: number;
  nodeCpuMs: number;
  /** PostgreSQL backends' CPU; undefined on SQLite (its work is in the node process's CPU). */
  dbCpuMs: number | undefined;
}

/** Counters read at the start of a stretch of a case (normally its timed part) and again at its end. */
export class UsageWindow {
  private constructor(
    private readonly db: Db,
    private readonly remote: RemoteUsage | undefined,
    private readonly start: ProcessUsage,
    private readonly backends: Map<number, number> | undefined,
  ) {}

  static async open(db: Db, remote?: RemoteUsage): Promise<UsageWindow> {
    const backends = db === 'postgres' ? await backendCpu().catch(() => undefined) : undefined;
    const others = remote ? await remote() : [];
    return new UsageWindow(db, remote, total([ownUsage(), ...others]), backends);
  }

  async close(): Promise<UsageFigures> {
    const others = this.remote ? await this.remote() : [];
    const end = total([ownUsage(), ...others]);
    const backends = this.db === 'postgres' && this.backends ? await backendCpu().catch(() => undefined) : undefined;
    return {
      statements: end.sql.statements - this.start.sql.statements,
      transactions: end.sql.transactions - this.start.sql.transactions,
      commits: end.sql.commits - this.start.sql.commits,
      nodeCpuMs: (end.cpuUs - this.start.cpuUs) / 1000,
      dbCpuMs: backends && this.backends ? backendCpuSince(this.backends, backends) : undefined,
    };
  }
}

/** The per-step fields of a result line. */
export function perStep(figures: UsageFigures, steps: number): Record<string, number | undefined> {
  const per = (value: number, digits: number) => round(value / steps, digits);
  return {
    commits_per_step: per(figures.commits, 2),
    transactions_per_step: per(figures.transactions, 2),
    statements_per_step: per(figures.statements, 2),
    node_cpu_ms_per_step: per(figures.nodeCpuMs, 3),
    db_cpu_ms_per_step: figures.dbCpuMs === undefined ? undefined : per(figures.dbCpuMs, 3),
  };
}
