/** The parts of TypeORM 0.3's SqliteQueryRunner that taking turns needs. */
interface SqliteQueryRunner {
  isTransactionActive: boolean;
  query(...args: unknown[]): Promise<unknown>;
  startTransaction(...args: unknown[]): Promise<void>;
}

/**
 * Stent and the application taking turns on the one connection of a TypeORM 0.3 'sqlite' DataSource (its
 * driver has a single connection and a single query runner). On one connection nothing keeps statements
 * apart: the application's would land inside Stent's transactions and Stent's inside the application's,
 * and either side's BEGIN fails inside the other's. A second connection is no way out: a transaction of
 * the application that reads before it writes cannot wait for the write lock (SQLite answers SQLITE_BUSY
 * at once), and Stent's workers write all the time. So Stent's operations wait while the application has
 * a transaction open or a statement under way, and the application's statements and transactions wait
 * while a Stent operation runs.
 */
export class SharedSqlite3Turns {
  private stentRunning = false;
  private applicationStatements = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly runner: SqliteQueryRunner) {
    const turns = this;
    const query = runner.query;
    const startTransaction = runner.startTransaction;
    runner.query = function (this: SqliteQueryRunner, ...args: unknown[]) {
      // Inside its own transaction the application has the connection (Stent waits for it to end).
      if (this.isTransactionActive) return turns.counted(() => query.apply(this, args));
      return turns.afterStent(() => turns.counted(() => query.apply(this, args)));
    };
    runner.startTransaction = function (this: SqliteQueryRunner, ...args: unknown[]) {
      // startTransaction marks the runner as in a transaction before it first waits, so no Stent
      // operation can start between this turn and its BEGIN.
      return turns.afterStent(() => startTransaction.apply(this, args));
    };
  }

  /** Runs a Stent operation once the application has no transaction open and no statement under way. */
  async stent<T>(work: () => Promise<T>): Promise<T> {
    while (this.runner.isTransactionActive || this.applicationStatements > 0 || this.stentRunning) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    this.stentRunning = true;
    try {
      return await work();
    } finally {
      this.stentRunning = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async afterStent<T>(next: () => Promise<T>): Promise<T> {
    // Checked again after every wait, and `next` called in the same turn of the event loop as the check.
    while (this.stentRunning) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    return next();
  }

  private async counted<T>(statement: () => Promise<T>): Promise<T> {
    this.applicationStatements++;
    try {
      return await statement();
    } finally {
      this.applicationStatements--;
    }
  }
}
