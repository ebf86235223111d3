import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/**
 * Boots a sample's Nest application (no HTTP server: the samples drive their services directly),
 * runs `body`, and closes the application, which drains Stent's worker. Any error ends the process
 * with exit code 1 after printing it.
 */
export function runSample(module: new (...args: never[]) => unknown, body: (app: INestApplicationContext) => Promise<void>): void {
  const main = async (): Promise<void> => {
    const app = await NestFactory.createApplicationContext(module, { logger: ['error', 'warn'] });
    app.enableShutdownHooks();
    try {
      await body(app);
    } finally {
      await app.close();
    }
  };
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
