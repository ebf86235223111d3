import { afterEach, describe, expect, it } from 'vitest';
import { decode, defineActivity, defineWorkflow, encode, Result, Stent } from 'nestjs-stent/internal';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';
import { overwriteExecution } from '../support/stored-rows.js';

/** JSON a user might send (a webhook body, a form): keys that look like the engine's own tags. */
const LOOKALIKES: unknown[] = [
  { __stent: 'undefined' },
  { __stent: 'date', iso: '2024-01-01T00:00:00.000Z' },
  { __stent: 'date', iso: 'not a date' },
  { __stent: 'error', error: { name: 'TypeError', message: 'boom' } },
  { __stent: 'result', ok: false, error: 'nope' },
  { __stent: 'object', entries: { a: 1 } },
  { __stent: 7, nested: { __stent: 'undefined', deeper: [{ __stent: 'date', iso: '2024-01-01T00:00:00.000Z' }] } },
  JSON.parse('{"__proto__": {"polluted": true}, "plain": 1}'),
  [{ __stent: 'undefined' }, null, 'text'],
];

/** What a value looks like to code that inspects it: its JSON and the kinds of values inside. */
function shape(value: unknown): string {
  const kinds: string[] = [];
  const walk = (v: unknown): void => {
    kinds.push(v === null ? 'null' : v instanceof Date ? 'Date' : v instanceof Error ? 'Error' : v instanceof Result ? 'Result' : Array.isArray(v) ? 'array' : typeof v);
    if (v && typeof v === 'object' && !(v instanceof Date)) for (const key of Reflect.ownKeys(v)) walk((v as Record<string | symbol, unknown>)[key]);
  };
  walk(value);
  return `${JSON.stringify(value)} ${kinds.join(',')} proto:${value && typeof value === 'object' ? Object.getPrototypeOf(value) === Object.prototype || Array.isArray(value) : '-'}`;
}

class EchoActs {
  async echo(value: unknown): Promise<unknown> {
    return value;
  }
}
defineActivity(EchoActs, { name: 'UserValuesEcho' });

class EchoFlow {
  constructor(private readonly acts: EchoActs) {}
  async run(value: unknown): Promise<{ seen: string[]; value: unknown }> {
    const seen = [shape(value)];
    const echoed = await this.acts.echo(value);
    seen.push(shape(echoed));
    const signalled = await Stent.waitForSignal('value');
    seen.push(shape(signalled));
    Stent.setState('last', signalled);
    return { seen, value: echoed };
  }
}
defineWorkflow(EchoFlow, { name: 'UserValuesFlow' });

describe('user values with engine-looking keys (encoding)', () => {
  it('round-trip unchanged through encode/decode', () => {
    for (const value of LOOKALIKES) expect(shape(decode(encode(value)))).toBe(shape(value));
    const date = new Date('2024-05-06T07:08:09.000Z');
    const mixed = decode(encode({ __stent: 'date', when: date, result: Result.ok({ __stent: 'undefined' }) })) as Record<string, unknown>;
    expect(mixed.when).toBeInstanceOf(Date);
    expect((mixed.result as Result<unknown, unknown>).value).toEqual({ __stent: 'undefined' });
  });

  it('values stored by the previous encoding still decode', () => {
    const stored = JSON.stringify({
      at: { __stent: 'date', iso: '2024-05-06T07:08:09.000Z' },
      gone: { __stent: 'undefined' },
      failure: { __stent: 'error', error: { name: 'RangeError', message: 'too far' } },
      outcome: { __stent: 'result', ok: true, value: [1, { __stent: 'undefined' }] },
      plain: { a: [1, 'two'], b: null },
      notATag: { __stent: 3, x: 1 },
    });
    const back = decode(stored) as Record<string, unknown>;
    expect((back.at as Date).toISOString()).toBe('2024-05-06T07:08:09.000Z');
    expect('gone' in back && back.gone === undefined).toBe(true);
    expect(back.failure).toBeInstanceOf(RangeError);
    expect((back.outcome as Result<unknown[], unknown>).value).toEqual([1, undefined]);
    expect(back.plain).toEqual({ a: [1, 'two'], b: null });
    expect(back.notATag).toEqual({ __stent: 3, x: 1 });
  });
});

describe.each(DIALECTS)('user values with engine-looking keys on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  it('arguments, activity results, signal payloads, state and results keep their type inside and outside the workflow', async () => {
    const acts = new EchoActs();
    harness = await createHarness(dialect, [acts, new EchoFlow(acts)]);
    const { executor } = harness;
    for (const value of LOOKALIKES) {
      const id = await executor.dispatch(EchoFlow, [value]);
      await executor.sendSignal(id, 'value', value);
      const result = await executor.waitFor<{ seen: string[]; value: unknown }>(id, { timeout: '20s' });
      expect(result.ok, JSON.stringify(result.error)).toBe(true);
      expect(result.value!.seen).toEqual([shape(value), shape(value), shape(value)]);
      expect(shape(result.value!.value)).toBe(shape(value));
      const info = await executor.getExecution(id);
      expect(shape(info.args[0])).toBe(shape(value));
      expect(shape(info.customState.last)).toBe(shape(value));
    }
  });

  it('an execution whose arguments were stored by the previous encoding still runs with them', async () => {
    const acts = new EchoActs();
    harness = await createHarness(dialect, [acts, new EchoFlow(acts)], false);
    const id = await harness.executor.dispatch(EchoFlow, [null]);
    const oldArgs = JSON.stringify([{ at: { __stent: 'date', iso: '2024-05-06T07:08:09.000Z' }, gone: [{ __stent: 'undefined' }], n: 1 }]);
    await overwriteExecution(harness.db, id, { args: oldArgs });
    await harness.spawn(undefined, acts, new EchoFlow(acts));
    await harness.executor.sendSignal(id, 'value', 'go');
    const result = await harness.executor.waitFor<{ seen: string[]; value: { at: Date; gone: unknown[] } }>(id, { timeout: '20s' });
    expect(result.value!.value.at).toBeInstanceOf(Date);
    expect(result.value!.value.at.toISOString()).toBe('2024-05-06T07:08:09.000Z');
    expect(result.value!.value.gone).toEqual([undefined]);
  });
});
