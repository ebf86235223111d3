import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { StentExecutor } from '../core/index.js';
import { STENT_MODULE_OPTIONS } from './stent.module-definition.js';
import type { StentModuleOptions } from './stent-module-options.js';

/** Starts the worker once the application is up and drains it before the application shuts down. */
@Injectable()
export class StentLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly executor: StentExecutor,
    @Inject(STENT_MODULE_OPTIONS) private readonly options: StentModuleOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.migrate !== false) await this.executor.migrate();
    await this.executor.worker?.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.executor.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.executor.close(0);
  }
}
