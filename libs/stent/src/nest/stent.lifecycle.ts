import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { StentExecutor } from '../core/index.js';
import type { SqlStore } from '../persistence/index.js';
import { STENT_STORE } from './stent.constants.js';
import { STENT_MODULE_OPTIONS } from './stent.module-definition.js';
import type { StentModuleOptions } from './stent-module-options.js';

/**
 * Starts the worker once the application is up and drains it before the application shuts down. The
 * start is tried again with back-off until it works: when the database does not answer, bootstrap does
 * not wait for it.
 */
@Injectable()
export class StentLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly executor: StentExecutor,
    @Inject(STENT_STORE) private readonly store: SqlStore,
    @Inject(STENT_MODULE_OPTIONS) private readonly options: StentModuleOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const firstTry = this.executor.startInBackground({ migrate: this.options.migrate !== false });
    // The database answered: the worker runs (or its start failed, see readiness) once the application is up.
    if (await this.store.firstConnectAttempt()) await firstTry;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.executor.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.executor.close(0);
  }
}
