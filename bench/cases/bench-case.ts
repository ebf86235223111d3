import type { CaseName, Db } from '../options.js';
import type { Measurement } from '../report.js';
import type { RemoteUsage } from '../usage.js';

/** What a case gets from the runner for one database. */
export interface CaseContext {
  db: Db;
  /** This database's single-client commit rate (commits/s) measured earlier in the same run. */
  commitLimit: number | undefined;
  /**
   * Where the statements, commits and CPU of the next result line start being counted (and, with
   * --profile, the profile): call it where the timed part begins, after the warm-up, passing a reader of
   * the worker processes' usage when other processes do the work. Without a call the count runs from the
   * case's start or the previous result line.
   */
  startWindow(remote?: RemoteUsage): Promise<void>;
  /**
   * Where the counting of the next result line ends, when the case still has work to do before it can
   * print the line (what it does then, a forced garbage collection say, is not the step's). Without a call
   * the count ends at emit().
   */
  endWindow(): Promise<void>;
  /** Prints one result line (adding the per-step counts, how close it comes to the commit limit, and whether that regressed). */
  emit(measurement: Measurement): Promise<void>;
  /** Where worker processes write CPU profiles (--profile); undefined when not profiling. */
  profileDir: string | undefined;
}

export interface BenchCase {
  name: CaseName;
  /** Databases the case runs on. */
  dbs: readonly Db[];
  run(context: CaseContext): Promise<void>;
}
