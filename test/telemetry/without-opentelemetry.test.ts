import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

describe('without @opentelemetry/api installed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-no-otel-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a Nest app starts and runs its workflows; openTelemetry() says it is absent', async () => {
    const env = { ...process.env, NO_OTEL_DB: join(dir, 'app.db') };
    const { stdout } = await run(process.execPath, ['--import', fixture('without-opentelemetry.js'), fixture('no-otel-app.js')], { env, timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ telemetry: 'absent', result: 'hello world' });
  });

  it('the hiding works: the same process cannot import @opentelemetry/api', async () => {
    const script = "import('@opentelemetry/api').then(() => console.log('found'), (e) => console.log(e.code))";
    const { stdout } = await run(process.execPath, ['--import', fixture('without-opentelemetry.js'), '--input-type=module', '-e', script], { timeout: 30_000 });
    expect(stdout.trim()).toBe('ERR_MODULE_NOT_FOUND');
  });
});
