import { existsSync } from 'node:fs';
import { StentExecutor } from '../core/executor/executor.js';
import { codecFromEnvironment } from '../core/codec/codec-module.js';
import type { StentLogger } from '../core/logger.js';
import { createStentStore, databaseFromUrl } from '../persistence/create-store.js';
import { CliUsageError } from './cli-usage.error.js';

/** Nothing the library logs while the CLI works goes to the terminal: the CLI reports errors itself. */
const quiet: StentLogger = { log() {}, warn() {}, error() {} };

export interface ConnectOptions {
  /** --database, else STENT_DATABASE_URL. */
  database: string | undefined;
  connectTimeout: string;
  /** migrate may create a SQLite file; every other command needs one that exists. */
  create: boolean;
}

/**
 * An executor without a worker on the database named by --database or STENT_DATABASE_URL: a SQLite file
 * path (or sqlite:path) or a postgres:// URL (?schema= selects the schema). It needs no workflow code:
 * everything the CLI does works from the rows. STENT_CODEC_MODULE gives it the application's payload codec.
 */
export async function connect(options: ConnectOptions): Promise<StentExecutor> {
  const url = options.database ?? process.env.STENT_DATABASE_URL;
  if (!url) throw new CliUsageError('no database: pass --database <sqlite file | postgres URL> or set STENT_DATABASE_URL');
  const database = databaseFromUrl(url);
  if ((database.type === 'better-sqlite3' || database.type === 'sqlite') && !options.create && database.database !== ':memory:' && !existsSync(database.database)) {
    throw new CliUsageError(`no SQLite database at ${database.database} (run 'stent migrate' to create one)`);
  }
  const store = await createStentStore({ database, connectTimeout: options.connectTimeout });
  // With STENT_CODEC_MODULE the CLI shows encoded payloads decoded; without it, as markers.
  return new StentExecutor({ store, worker: false, logger: quiet, codec: await codecFromEnvironment() });
}
