import { afterAll, beforeAll } from 'vitest';
import type { Dialect } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { runStent, type CliRun } from '../support/stent-cli.js';

/** The database a describe block's CLI runs read, and the bin pointed at it. */
export interface CliBench {
  /** The database URL the bin is given (valid once the block's beforeAll has run). */
  readonly url: string;
  stent(...args: string[]): Promise<CliRun>;
}

/**
 * For one describe block: before all its tests, a fresh `dialect` database whose executors `start` makes
 * (it keeps what it needs); after them, everything disposed. `reset` puts shared fixture state back,
 * before and after, so one block's switches do not leak into the next.
 */
export function cliBench(dialect: Dialect, start: (set: ExecutorSet) => Promise<void>, reset: () => void = () => {}): CliBench {
  let set: ExecutorSet | undefined;
  beforeAll(async () => {
    reset();
    set = await ExecutorSet.create(dialect);
    await start(set);
  });
  afterAll(async () => {
    reset();
    await set?.dispose();
  });
  return {
    get url() {
      if (!set) throw new Error('cliBench: the database is opened in beforeAll');
      return set.db.url;
    },
    stent: (...args) => runStent(['--database', set!.db.url, ...args]),
  };
}
