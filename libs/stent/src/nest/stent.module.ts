import { Logger, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { StentExecutor } from '../core/index.js';
import { createStentStore } from '../persistence/index.js';
import { openTelemetry } from '../telemetry/index.js';
import { StentConfigurableModule, STENT_MODULE_OPTIONS } from './stent.module-definition.js';
import type { StentModuleOptions } from './stent-module-options.js';
import { StentExplorer } from './stent.explorer.js';
import { StentLifecycle } from './stent.lifecycle.js';

/**
 * StentModule.forRoot({...}) / forRootAsync({...}): global; provides StentExecutor and runs a worker
 * for every @Workflow / @Activity provider it discovers.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: StentExecutor,
      inject: [STENT_MODULE_OPTIONS],
      useFactory: async (options: StentModuleOptions) => {
        const logger = new Logger('Stent');
        const store = await createStentStore({
          database: options.database,
          dataSource: options.dataSource,
          schema: options.schema,
          connectTimeout: options.connectTimeout,
          logger,
        });
        const telemetry = options.telemetry === false ? undefined : await openTelemetry(options.telemetry ?? {});
        const executor = new StentExecutor({ store, worker: options.worker, logger, clock: options.clock, telemetry, workflowsFromWorkers: options.workflowsFromWorkers });
        // Migrated before anything can inject the executor, so a provider may dispatch in its own onModuleInit.
        if (options.migrate !== false) {
          try {
            await executor.migrate();
          } catch (error) {
            await store.close().catch(() => undefined);
            throw error;
          }
        }
        return executor;
      },
    },
    StentExplorer,
    StentLifecycle,
  ],
  exports: [StentExecutor, STENT_MODULE_OPTIONS],
})
export class StentModule extends StentConfigurableModule {}
