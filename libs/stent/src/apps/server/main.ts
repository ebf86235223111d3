#!/usr/bin/env node
import { StentError } from '../../core/errors/index.js';
import type { SqlStore } from '../../persistence/sql-store.js';
import { serverConfig, SERVER_USAGE } from './server-config.js';
import { codecFromEnvironment } from '../../core/codec/codec-module.js';

/** stent-server: the admin REST API for any Stent database, configured from the environment. */
async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${SERVER_USAGE}\n`);
    return;
  }
  const config = { ...serverConfig(process.env), codec: await codecFromEnvironment(process.env) };
  // Nest and the admin module load only once the settings are known to be good: a misconfigured server
  // says so at once, without a second of start-up first.
  await import('reflect-metadata');
  const [{ Logger }, { NestFactory }, { STENT_STORE }, { AdminServerModule }] = await Promise.all([
    import('@nestjs/common'),
    import('@nestjs/core'),
    import('../../nest/stent.constants.js'),
    import('./server.module.js'),
  ]);
  // Warnings and errors only: Nest's route-by-route start-up log would bury the one line that matters.
  const app = await NestFactory.create(AdminServerModule.forConfig(config), { abortOnError: false, logger: ['error', 'warn'] });
  // Closes the database connections on SIGTERM / SIGINT and exits 0 (a clean stop, as supervisors expect).
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stent-server: error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // An application boots while its database is down; this server has nothing to serve without it: it
  // waits up to STENT_CONNECT_TIMEOUT for the database and otherwise exits with the reason.
  try {
    await app.get<SqlStore>(STENT_STORE).ping();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address() as { port: number };
  const shown = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  if (!config.token) new Logger('StentServer').warn('Serving WITHOUT a token (STENT_ADMIN_UNGUARDED=1)');
  process.stdout.write(`stent-server listening http://${shown}:${address.port}${config.path}${config.readOnly ? ' (read-only)' : ''}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof StentError ? error.message : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`stent-server: ${message}\n`);
  process.exit(1);
});
