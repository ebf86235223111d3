import type { DynamicModule } from '@nestjs/common';
import { StentModule } from 'nestjs-stent';

/**
 * Stent as each sample configures it: an embedded SQLite file (STENT_DATABASE overrides the default
 * name), a worker running ten activity attempts at a time, and a lease (STENT_LEASE) that decides how
 * soon a restarted process takes over what a killed one held: the crash tests shorten it.
 */
export function stentForSample(defaultDatabase: string): DynamicModule {
  return StentModule.forRoot({
    database: { type: 'better-sqlite3', database: process.env.STENT_DATABASE ?? defaultDatabase },
    worker: { concurrency: 10, lease: process.env.STENT_LEASE ?? '30s' },
  });
}
