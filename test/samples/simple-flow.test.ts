import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../sample/simple-flow/main.js', import.meta.url));

describe('sample/simple-flow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-sample-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('validates and charges an order on an embedded SQLite file and prints the final Result', async () => {
    const database = join(dir, 'simple-flow.db');
    const { stdout } = await run(process.execPath, [main, 'ord-e2e'], { env: { ...process.env, STENT_DATABASE: database }, timeout: 60_000 });
    expect(stdout).toMatch(/execution .+ finished: completed/);
    const printed = JSON.parse(stdout.slice(stdout.indexOf('{')));
    expect(printed).toMatchObject({ ok: true, value: { orderId: 'ord-e2e', cents: 2 * 1250 + 3 * 199 } });
    expect(printed.value.receiptId).toMatch(/^rcpt_ord-e2e_/);
  });

  it('placing the same order again returns the first execution (idempotency key)', async () => {
    const database = join(dir, 'again.db');
    const first = await run(process.execPath, [main, 'ord-same'], { env: { ...process.env, STENT_DATABASE: database }, timeout: 60_000 });
    const second = await run(process.execPath, [main, 'ord-same'], { env: { ...process.env, STENT_DATABASE: database }, timeout: 60_000 });
    const idOf = (out: string) => /execution (\S+) finished/.exec(out)![1];
    expect(idOf(second.stdout)).toBe(idOf(first.stdout));
    expect(JSON.parse(second.stdout.slice(second.stdout.indexOf('{'))).value.receiptId).toBe(JSON.parse(first.stdout.slice(first.stdout.indexOf('{'))).value.receiptId);
  });
});
