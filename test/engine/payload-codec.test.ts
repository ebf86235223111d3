import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { aesGcmCodec, createStentStore, defineActivity, defineWorkflow, EncodedPayload, Stent, StentExecutor, toJsonView, type StentCodec, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';
import { FAST_WORKER, MemoryLogger, REPLAYING_WORKER } from '../support/executor-set.js';
import { allStoredText } from '../support/table-rows.js';
import { waitUntil } from '../support/wait.js';

const SECRET = 'TOPSECRET-7f3a';
const KEY_1 = randomBytes(32);
const KEY_2 = randomBytes(32);

/** Fails until the test deploys the fix: its error message carries the secret too. */
const gateway = { works: false };

class Vault {
  async seal(value: string): Promise<string> {
    return `sealed:${value}`;
  }
  async charge(value: string): Promise<string> {
    if (!gateway.works) throw new Error(`gateway refused ${value}`);
    return `charged:${value}`;
  }
}
defineActivity(Vault, { name: 'CodecVault', retry: { maxAttempts: 1 } });

/** A child: its arguments and result cross between executions in the database (the parent's step gets its result). */
class SealChild {
  constructor(private readonly vault: Vault) {}
  async run(secret: string): Promise<string> {
    return this.vault.seal(secret);
  }
}
defineWorkflow(SealChild, { name: 'CodecSealChild' });

class SecretFlow {
  constructor(
    private readonly vault: Vault,
    private readonly child: SealChild,
  ) {}
  async run(secret: string): Promise<string> {
    const sealed = await this.child.run(secret);
    Stent.setProgress({ sealed });
    Stent.setState('secret', secret);
    Stent.setEvent('sealed', sealed);
    Stent.writeStream('out', `chunk ${secret}`);
    const signal = await Stent.waitForSignal<{ note: string }>('note');
    // Fails for good the first time (dead-lettered), succeeds when the dead letter is replayed.
    const charged = await this.vault.charge(`${signal.note}`);
    Stent.closeStream('out');
    return `${charged} after ${Stent.uuid().length}`;
  }
}
defineWorkflow(SecretFlow, { name: 'CodecSecretFlow' });

/** Counts what goes through the codec, so the test sees it was used for each kind of payload. */
function counting(inner: StentCodec): StentCodec & { encoded: number; decoded: number } {
  const codec = {
    encoded: 0,
    decoded: 0,
    encode: (plain: string) => {
      codec.encoded++;
      return inner.encode(plain);
    },
    decode: (data: string, keyId: string) => {
      codec.decoded++;
      return inner.decode(data, keyId);
    },
  };
  return codec;
}

describe.each(DIALECTS)('payload codec on %s', (dialect) => {
  let db: TestDatabase;
  const executors: StentExecutor[] = [];
  afterEach(async () => {
    gateway.works = false;
    for (const executor of executors.splice(0)) await executor.close('2s').catch(() => undefined);
    await db?.dispose();
  });

  async function open(codec: StentCodec | undefined, worker: WorkerOptions | false): Promise<StentExecutor> {
    const vault = new Vault();
    const executor = new StentExecutor({ store: await createStentStore({ database: db.options }), worker, codec, logger: new MemoryLogger() });
    const child = new SealChild(vault);
    executor.register(vault, child, () => new SecretFlow(vault, child));
    executors.push(executor);
    await executor.start();
    return executor;
  }

  it('stores no plaintext anywhere; replay, signals, events, streams and dead-letter replay work through it; a process without it sees markers', async () => {
    db = await createTestDatabase(dialect);
    const codec = counting(aesGcmCodec({ keys: { k1: KEY_1 }, current: 'k1' }));
    // Every wake replays the journal (REPLAYING_WORKER), so the run reads its own encoded journal back.
    const executor = await open(codec, REPLAYING_WORKER);
    const id = await executor.dispatch(SecretFlow, [SECRET]);
    expect(await executor.getEvent(id, 'sealed', { timeout: '20s' })).toBe(`sealed:${SECRET}`);
    await waitUntil(async () => (await executor.getExecution(id)).leaseOwner === null, 'the run to suspend at its signal wait');
    await executor.sendSignal(id, 'note', { note: `note ${SECRET}` });
    const failed = await executor.waitFor(id, { timeout: '20s' });
    expect(failed.state).toBe('failed');
    expect(String((failed.error as Error).message)).toContain(`gateway refused note ${SECRET}`);

    const [letter] = (await executor.dlq.list({ executionId: id })).items;
    expect(JSON.stringify(letter!.args)).toContain(SECRET);
    gateway.works = true;
    await executor.dlq.replay(letter!.id);
    const done = await executor.waitFor(id, { timeout: '20s' });
    expect(done.value).toBe(`charged:note ${SECRET} after 36`);

    const info = await executor.getExecution(id);
    expect(info.args).toEqual([SECRET]);
    expect(info.progress).toEqual({ sealed: `sealed:${SECRET}` });
    expect(info.customState).toEqual({ secret: SECRET });
    const chunks: unknown[] = [];
    for await (const chunk of executor.readStream(id, 'out')) chunks.push(chunk.value);
    expect(chunks).toEqual([`chunk ${SECRET}`]);
    expect(JSON.stringify(await executor.getJournal(id))).toContain(`note ${SECRET}`);
    expect(codec.encoded).toBeGreaterThan(10);
    expect(codec.decoded).toBeGreaterThan(10);

    // The database holds none of it, in any table or column.
    const stored = await allStoredText(db);
    expect(stored).toContain('"key":"k1"');
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toContain('TOPSECRET');

    // A process without the codec (an admin server, the CLI) shows markers, never the ciphertext.
    const blind = await open(undefined, false);
    const seen = await blind.getExecution(id);
    // The argument list is one payload: the marker stands for all of it.
    expect(seen.args).toEqual(new EncodedPayload('k1'));
    expect(toJsonView(seen.args)).toBe("[encoded with key 'k1']");
    expect(toJsonView(seen.result)).toEqual({ ok: true, state: 'completed', value: "[encoded with key 'k1']" });
    expect(toJsonView(seen.customState)).toEqual({ secret: "[encoded with key 'k1']" });
  });

  it('rotates keys: payloads keep the key they were written with; a codec with both keys reads old and new', async () => {
    db = await createTestDatabase(dialect);
    const before = await open(aesGcmCodec({ keys: { k1: KEY_1 }, current: 'k1' }), FAST_WORKER);
    const old = await before.dispatch(SecretFlow, [SECRET]);
    await before.getEvent(old, 'sealed', { timeout: '20s' });
    await before.close('5s');
    // The new deploy encrypts with k2 and still holds k1 for what was written before.
    const after = await open(aesGcmCodec({ keys: { k1: KEY_1.toString('base64'), k2: KEY_2 }, current: 'k2' }), FAST_WORKER);
    gateway.works = true;
    await after.sendSignal(old, 'note', { note: 'rotated' });
    expect((await after.waitFor(old, { timeout: '20s' })).value).toBe('charged:rotated after 36');
    const fresh = await after.dispatch(SecretFlow, ['fresh']);
    await after.getEvent(fresh, 'sealed', { timeout: '20s' });
    const stored = await allStoredText(db);
    expect(stored).toContain('"key":"k1"');
    expect(stored).toContain('"key":"k2"');
    expect(stored).not.toContain(SECRET);
    expect((await after.getExecution(old)).args).toEqual([SECRET]);
    expect((await after.getExecution(fresh)).args).toEqual(['fresh']);
    // Only k2: what k1 wrote can no longer be read, and says so with a typed error.
    const withoutOld = await open(aesGcmCodec({ keys: { k2: KEY_2 }, current: 'k2' }), false);
    await expect(withoutOld.getExecution(old)).rejects.toMatchObject({ code: 'STENT_PAYLOAD_DECODE', keyId: 'k1' });
    await after.cancel(fresh);
  });
});
