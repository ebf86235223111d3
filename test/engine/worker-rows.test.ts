import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';
import { openInspector, type Inspector } from '../support/inspector.js';

const DAY = 24 * 3_600_000;

describe.each(DIALECTS)('worker rows do not pile up (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  let inspector: Inspector | undefined;

  afterEach(async () => {
    await inspector?.close();
    await set?.dispose();
    set = inspector = undefined;
  });

  it('rows of processes gone for over a day are removed when a worker starts, and stats() lists recent workers only', async () => {
    set = await ExecutorSet.create(dialect);
    const first = await set.executor([]);
    inspector = await openInspector(set.db);
    const workers = dialect === 'postgres' ? `"${set.db.schema}".stent_workers` : 'stent_workers';
    // 500 restarts' worth of rows from processes long gone, and one that stopped an hour ago.
    const now = Date.now();
    for (let i = 0; i < 500; i++) {
      await inspector.query(`INSERT INTO ${workers} (id, hostname, pid, queues, state, started_at, heartbeat_at) VALUES (?, 'old-host', ?, '["default"]', ?, ?, ?)`, [
        `old-${i}`,
        1000 + i,
        i % 2 ? 'stopped' : 'running',
        now - 3 * DAY - i,
        now - 2 * DAY - i,
      ]);
    }
    await inspector.query(`INSERT INTO ${workers} (id, hostname, pid, queues, state, started_at, heartbeat_at) VALUES ('recent', 'old-host', 1, '["default"]', 'stopped', ?, ?)`, [
      now - 2 * 3_600_000,
      now - 3_600_000,
    ]);

    // Listed by nobody even before any worker prunes them.
    const listed = (await first.stats()).workers.map((w) => w.id);
    expect(listed).not.toContain('old-0');
    expect(listed).toContain('recent');
    expect(listed).toContain(first.worker!.ownerId);

    // A worker starting removes them.
    const second = await set.executor([]);
    expect(await inspector.scalar(`SELECT COUNT(*) FROM ${workers} WHERE id LIKE 'old-%'`)).toBe(0);
    const ids = (await second.stats()).workers.map((w) => w.id).sort();
    expect(ids).toEqual([first.worker!.ownerId, second.worker!.ownerId, 'recent'].sort());
  });
});
