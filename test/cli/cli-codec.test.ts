import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { aesGcmCodec, createStentStore, defineWorkflow, Stent, StentExecutor } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { MemoryLogger, QUICK_WORKER } from '../support/executor-set.js';
import { jsonOf, runStent } from '../support/stent-cli.js';

const KEY = randomBytes(32).toString('base64');
const CODEC_MODULE = fileURLToPath(new URL('../fixtures/cli-codec.js', import.meta.url));

class Confidential {
  async run(card: string): Promise<string> {
    Stent.setProgress({ card });
    return `ok ${card}`;
  }
}
defineWorkflow(Confidential, { name: 'CliCodecConfidential' });

describe.each(DIALECTS)('the stent CLI and a payload codec on %s', (dialect) => {
  let db: TestDatabase | undefined;
  afterEach(async () => db?.dispose());

  it('shows payloads decoded with STENT_CODEC_MODULE, as markers without it', async () => {
    db = await createTestDatabase(dialect);
    const executor = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: QUICK_WORKER, codec: aesGcmCodec({ keys: { ops: KEY }, current: 'ops' }), logger: new MemoryLogger() });
    executor.register(new Confidential());
    await executor.start();
    const id = await executor.dispatch(Confidential, ['4111-1111']);
    await executor.waitFor(id, { timeout: '20s' });
    await executor.close('2s');

    const decoded = jsonOf(await runStent(['show', id, '--json', '--database', db.url], { STENT_CODEC_MODULE: CODEC_MODULE, STENT_TEST_CODEC_KEY: KEY }));
    expect(decoded.execution).toMatchObject({ args: ['4111-1111'], result: { ok: true, value: 'ok 4111-1111' }, progress: { card: '4111-1111' } });
    expect(decoded.journal[0].args).toEqual({ kind: 'progress', value: { card: '4111-1111' } });
    const blind = await runStent(['show', id, '--json', '--database', db.url]);
    const seen = jsonOf(blind);
    expect(seen.execution).toMatchObject({ args: "[encoded with key 'ops']", result: { ok: true, value: "[encoded with key 'ops']" }, progress: "[encoded with key 'ops']" });
    expect(seen.journal[0].args).toEqual({ kind: 'progress', value: "[encoded with key 'ops']" });
    expect(blind.stdout).not.toContain('4111-1111'); // the whole card number: a random execution id may hold '4111'
    const broken = await runStent(['show', id, '--database', db.url], { STENT_CODEC_MODULE: '/nowhere/codec.js' });
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain('STENT_CODEC_MODULE');
  });
});
