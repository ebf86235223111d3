import { Logger, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { StentExecutor } from '../core/index.js';
// The store's own files, not persistence/index.js: that one exports the TypeORM entities, and an application
// that gives Stent a `database` (not its DataSource) need not load TypeORM.
import { openStentStore } from '../persistence/create-store.js';
import type { SqlStore } from '../persistence/sql-store.js';
import { STENT_STORE } from './stent.constants.js';
import { openTelemetry } from '../telemetry/index.js';
import { StentConfigurableModule, STENT_MODULE_OPTIONS } from './stent.module-definition.js';
import type { StentModuleOptions } from './stent-module-options.js';
import { StentExplorer } from './stent.explorer.js';
import { StentLifecycle } from './stent.lifecycle.js';

/**
 * StentModule.forRoot({...}) / forRootAsync({...}): global; provides StentExecutor and runs a worker
 * for every @Workflow / @Activity provider it discovers. The application boots even when the database
 * is down: Stent connects, migrates and starts its worker in the background once it answers (readiness
 * and the health indicator say why it is not ready meanwhile).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: STENT_STORE,
      inject: [STENT_MODULE_OPTIONS],
      useFactory: (options: StentModuleOptions): SqlStore =>
        openStentStore({
          database: options.database,
          dataSource: options.dataSource,
          schema: options.schema,
          connectTimeout: options.connectTimeout,
          reconnectWindow: options.reconnectWindow,
          logger: new Logger('Stent'),
        }),
    },
    {
      provide: StentExecutor,
      inject: [STENT_MODULE_OPTIONS, STENT_STORE],
      useFactory: async (options: StentModuleOptions, store: SqlStore) => {
        const logger = new Logger('Stent');
        const telemetry = options.telemetry === false ? undefined : await openTelemetry(options.telemetry ?? {});
        const executor = new StentExecutor({ store, worker: options.worker, logger, clock: options.clock, telemetry, workflowsFromWorkers: options.workflowsFromWorkers, codec: options.codec });
        if (options.migrate !== false) {
          const migration = executor.migrate();
          migration.catch(() => undefined);
          // When the database answers at once, the schema is migrated before anything can inject the
          // executor (a provider may dispatch in its own onModuleInit). When it does not, the application
          // boots anyway; StentLifecycle keeps trying. A failed migration is reported by readiness.
          if (await store.firstConnectAttempt()) await migration.catch(() => undefined);
        }
        return executor;
      },
    },
    StentExplorer,
    StentLifecycle,
  ],
  exports: [StentExecutor, STENT_MODULE_OPTIONS, STENT_STORE],
})
export class StentModule extends StentConfigurableModule {}
