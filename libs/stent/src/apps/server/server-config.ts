// The engine and the URL parser only: the server checks its settings before it loads Nest (see main.ts).
import { ConfigurationError, parseDuration, type StentCodec } from '../../core/index.js';
import { databaseFromUrl, type StentDatabaseOptions } from '../../persistence/create-store.js';

/** The standalone admin server's settings, from the environment. */
export interface ServerConfig {
  database: StentDatabaseOptions;
  /** Bearer token every request must carry; null only when unguarded was asked for explicitly. */
  token: string | null;
  port: number;
  host: string;
  path: string;
  readOnly: boolean;
  migrate: boolean;
  /** How long to keep trying to reach the database at start. */
  connectTimeout: string;
  /** The payload codec (STENT_CODEC_MODULE), loaded by main before the module is built. */
  codec?: StentCodec;
}

const yes = (value: string | undefined) => value === '1' || value === 'true' || value === 'yes';

export const SERVER_USAGE = `Usage: STENT_DATABASE_URL=<sqlite file | postgres://...?schema=...> STENT_ADMIN_TOKEN=<secret> stent-server

Environment:
  STENT_DATABASE_URL      the Stent database: a SQLite file path or a postgres URL (?schema= honoured)   (required)
  STENT_ADMIN_TOKEN       bearer token every request must send (Authorization: Bearer <token>)        (required)
  STENT_ADMIN_UNGUARDED=1 serve without a token (only behind something else that authenticates)
  STENT_ADMIN_READ_ONLY=1 serve only the read routes
  STENT_ADMIN_PATH        where the API is mounted (default /stent)
  STENT_MIGRATE=1         create or upgrade Stent's tables at start (default: leave the schema alone)
  STENT_CONNECT_TIMEOUT   how long to retry an unreachable database at start (default 30s)
  STENT_CODEC_MODULE      a module exporting the application's payload codec (\`export const codec\`): payloads shown decoded
  PORT                    default 3000 (0: any free port)
  HOST                    default 0.0.0.0`;

/** Reads the environment; a missing or wrong setting is a ConfigurationError naming the variable. */
export function serverConfig(env: NodeJS.ProcessEnv): ServerConfig {
  const url = env.STENT_DATABASE_URL?.trim();
  if (!url) throw new ConfigurationError('STENT_DATABASE_URL is not set: give a SQLite file path or a postgres:// URL');
  const token = env.STENT_ADMIN_TOKEN?.trim() || null;
  if (!token && !yes(env.STENT_ADMIN_UNGUARDED)) {
    throw new ConfigurationError('STENT_ADMIN_TOKEN is not set: the admin server refuses to start without a token (set STENT_ADMIN_UNGUARDED=1 to serve without one)');
  }
  if (env.STENT_CONNECT_TIMEOUT !== undefined) parseDuration(env.STENT_CONNECT_TIMEOUT.trim());
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigurationError(`PORT must be a port number, got '${env.PORT}'`);
  return {
    database: databaseFromUrl(url),
    token,
    port,
    host: env.HOST?.trim() || '0.0.0.0',
    path: env.STENT_ADMIN_PATH?.trim() || '/stent',
    readOnly: yes(env.STENT_ADMIN_READ_ONLY),
    migrate: yes(env.STENT_MIGRATE),
    connectTimeout: env.STENT_CONNECT_TIMEOUT?.trim() || '30s',
  };
}
