import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readmeFiles } from '../support/readme-example.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { expectFullExampleRun, lastJsonLine } from './full-example-run.js';
import { sampleMain } from './sample-process.js';

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const manualClockMain = fileURLToPath(new URL('../../sample/full-example/on-a-manual-clock.js', import.meta.url));

describe('the README full example (sample/full-example)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-full-example-'));
  let pg: TestDatabase | undefined;
  afterAll(async () => {
    await pg?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the README shows the sample's files as they are", () => {
    const files = readmeFiles('A full example');
    expect(Object.keys(files)).toEqual(['app.module.ts', 'orders/payment.activities.ts', 'orders/order.workflow.ts', 'orders/orders.service.ts']);
    for (const [path, text] of Object.entries(files)) {
      expect(text, path).toBe(readFileSync(join(repo, 'sample/full-example', path), 'utf8'));
    }
  });

  it('runs as an application on stent.db in its working directory: the order is charged and sleeps in its durable timer', async () => {
    const before = Date.now();
    const { stdout } = await run(process.execPath, [sampleMain('full-example'), 'ord-app'], { cwd: dir, timeout: 90_000 });
    expect(existsSync(join(dir, 'stent.db'))).toBe(true);
    expect(stdout).toContain('gateway: charged 1999 cents for ord-app (attempt 1)');
    const line = /execution (\S+) \(order ord-app\): running, charged, in a durable timer until (\S+)/.exec(stdout);
    expect(line, stdout).not.toBeNull();
    const wakeAt = Date.parse(line![2]!);
    expect(wakeAt).toBeGreaterThanOrEqual(before + 30 * 60_000);
    expect(wakeAt).toBeLessThan(Date.now() + 30 * 60_000 + 1_000);

    // Started again, the app places the same order: the idempotency key hands back the same execution,
    // already past its charge, so the gateway is not called again.
    const again = await run(process.execPath, [sampleMain('full-example'), 'ord-app'], { cwd: dir, timeout: 90_000 });
    expect(again.stdout).toContain(`execution ${line![1]} (order ord-app)`);
    expect(again.stdout).not.toContain('gateway: charged');
  });

  it('runs to the end on the manual clock, in-memory SQLite', async () => {
    const { stdout } = await run(process.execPath, [manualClockMain], { timeout: 90_000 });
    expectFullExampleRun(lastJsonLine(stdout));
  });

  it('runs to the end on the manual clock, PostgreSQL', async () => {
    pg = await createTestDatabase('postgres');
    const schema = (pg.options as { schema: string }).schema;
    const { stdout } = await run(process.execPath, [manualClockMain], {
      timeout: 90_000,
      env: { ...process.env, STENT_DATABASE_URL: (pg.options as { url: string }).url, STENT_DATABASE_SCHEMA: schema },
    });
    expectFullExampleRun(lastJsonLine(stdout));
  });
});
