import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSample } from './sample-process.js';

describe('sample/simple-flow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-sample-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('validates and charges an order on an embedded SQLite file and prints the final Result', async () => {
    const database = join(dir, 'simple-flow.db');
    const { stdout } = await runSample('simple-flow', ['ord-e2e'], { ...process.env, STENT_DATABASE: database });
    expect(stdout).toMatch(/execution .+ finished: completed/);
    const printed = JSON.parse(stdout.slice(stdout.indexOf('{')));
    expect(printed).toMatchObject({ ok: true, value: { orderId: 'ord-e2e', cents: 2 * 1250 + 3 * 199 } });
    expect(printed.value.receiptId).toMatch(/^rcpt_ord-e2e_/);
  });

  it('placing the same order again returns the first execution (idempotency key)', async () => {
    const database = join(dir, 'again.db');
    const first = await runSample('simple-flow', ['ord-same'], { ...process.env, STENT_DATABASE: database });
    const second = await runSample('simple-flow', ['ord-same'], { ...process.env, STENT_DATABASE: database });
    const idOf = (out: string) => /execution (\S+) finished/.exec(out)![1];
    expect(idOf(second.stdout)).toBe(idOf(first.stdout));
    expect(JSON.parse(second.stdout.slice(second.stdout.indexOf('{'))).value.receiptId).toBe(JSON.parse(first.stdout.slice(first.stdout.indexOf('{'))).value.receiptId);
  });
});
