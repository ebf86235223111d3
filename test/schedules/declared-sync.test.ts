import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, type StentStore } from 'nestjs-stent';
import type { ScheduleRecord } from 'nestjs-stent/internal';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';

const T0 = Date.UTC(2030, 0, 1);
const declared = (changes: Partial<ScheduleRecord> = {}): ScheduleRecord => ({
  name: 'Nightly', workflowName: 'Nightly', cron: '0 3 * * *', timezone: 'UTC', args: '[]', catchUp: 0, overlap: 'allow', state: 'active', source: 'decorator',
  queue: 'default', priority: null, tags: [], maxDurationMs: null, nextTickAt: T0 + 3 * 3_600_000, lastTickAt: null, lastExecutionId: null, createdAt: T0, updatedAt: T0,
  ...changes,
});

describe.each(DIALECTS)('writing declared schedules at start (%s)', (dialect) => {
  let db: TestDatabase | undefined;
  let store: StentStore | undefined;
  afterEach(async () => {
    await store?.close();
    await db?.dispose();
    store = db = undefined;
  });

  it('follows the code, keeps a pause and the next tick unless the expression changed, and leaves a schedule made at run time alone', async () => {
    db = await createTestDatabase(dialect);
    store = await createStentStore({ database: db.options });
    await store.migrate();
    await store.syncDeclaredSchedule(declared());
    // Restarted with the same code, later: nothing changes (the next tick stays the stored one).
    await store.syncDeclaredSchedule(declared({ nextTickAt: T0 + 27 * 3_600_000, updatedAt: T0 + 1 }));
    expect(await store.getSchedule('Nightly')).toMatchObject({ nextTickAt: T0 + 3 * 3_600_000, updatedAt: T0 });
    // Paused by an operator, then the code changes its arguments and policies: they follow, the pause stays.
    await store.updateSchedule({ ...declared(), state: 'paused', nextTickAt: null, updatedAt: T0 + 2 });
    await store.syncDeclaredSchedule(declared({ args: '["x"]', overlap: 'skip', catchUp: 2, updatedAt: T0 + 3 }));
    expect(await store.getSchedule('Nightly')).toMatchObject({ state: 'paused', nextTickAt: null, args: '["x"]', overlap: 'skip', catchUp: 2 });
    // Active again, a new expression brings a new next tick.
    await store.updateSchedule({ ...declared(), args: '["x"]', overlap: 'skip', catchUp: 2, state: 'active', nextTickAt: T0 + 3 * 3_600_000, updatedAt: T0 + 4 });
    await store.syncDeclaredSchedule(declared({ cron: '0 5 * * *', nextTickAt: T0 + 5 * 3_600_000, updatedAt: T0 + 5 }));
    expect(await store.getSchedule('Nightly')).toMatchObject({ cron: '0 5 * * *', nextTickAt: T0 + 5 * 3_600_000, state: 'active' });
    // A schedule of that name made at run time is not the code's to change.
    await store.deleteSchedule('Nightly');
    expect(await store.createSchedule(declared({ source: 'api', cron: '*/5 * * * *' }))).toBe(true);
    await store.syncDeclaredSchedule(declared());
    expect(await store.getSchedule('Nightly')).toMatchObject({ source: 'api', cron: '*/5 * * * *' });
  });
});
