import { Sqlite3Client, closeSqlite3Database, openSqlite3Database, type Sqlite3Database } from './clients/sqlite3-client.js';
import { SqliteFileTarget } from './sqlite-file-target.js';

/**
 * A SQLite file Stent opens with the `sqlite3` package for `database: { type: 'sqlite' }`, without a
 * TypeORM DataSource: TypeORM 1.x dropped its sqlite3 driver, and Stent needs nothing of TypeORM here.
 */
export class Sqlite3Target extends SqliteFileTarget<Sqlite3Database> {
  constructor(file: string, busyTimeoutMs: number) {
    super(file, busyTimeoutMs, 'sqlite3');
  }

  protected openFile(): Promise<Sqlite3Database> {
    return openSqlite3Database(this.file, this.busyTimeoutMs);
  }

  protected closeFile(db: Sqlite3Database): Promise<void> {
    return closeSqlite3Database(db);
  }

  protected clientOf(db: Sqlite3Database): Sqlite3Client {
    return new Sqlite3Client(db, this.fileKey);
  }
}
