import type { CaseName, Db } from '../options.js';
import type { Measurement } from '../report.js';

/** What a case gets from the runner for one database. */
export interface CaseContext {
  db: Db;
  /** This database's single-client commit rate (commits/s) measured earlier in the same run. */
  commitLimit: number | undefined;
  /** Prints one result line (adding how close it comes to the commit limit). */
  emit(measurement: Measurement): void;
}

export interface BenchCase {
  name: CaseName;
  /** Databases the case runs on. */
  dbs: readonly Db[];
  run(context: CaseContext): Promise<void>;
}
