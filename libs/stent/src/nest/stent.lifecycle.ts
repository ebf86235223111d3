import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { StentExecutor } from '../core/index.js';

/** Starts the worker once the application is up and drains it before the application shuts down. */
@Injectable()
export class StentLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(private readonly executor: StentExecutor) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.executor.worker?.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.executor.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.executor.close(0);
  }
}
