import type {
  DeadLetterRecord,
  ExecutionRecord,
  LocalCompletion,
  NewExecution,
  NewStep,
  StentStore,
  StepCompletion,
  StepEffect,
  StepOutcome,
  StepRecord,
} from '../store/index.js';
import { CodecFields } from './codec-fields.js';
import type { StentCodec } from './payload-codec.js';

type Overrides = Partial<StentStore>;

/**
 * A store whose payloads pass through a codec: encoded on their way in, decoded on their way out, so the
 * engine above it and the SQL below it never change. Names, states, times, counters and keys stay plain;
 * everything a user's code hands over (arguments, results, errors, signals, events, stream chunks,
 * progress, state) is stored encoded. Every other method is the inner store's own.
 */
export function withCodec(inner: StentStore, codec: StentCodec): StentStore {
  const fields = new CodecFields(codec);
  const enc = fields.encode.bind(fields) as (text: string | null) => Promise<string | null>;
  const dec = fields.decode.bind(fields) as (text: string | null) => Promise<string | null>;

  const execution = async (record: ExecutionRecord): Promise<ExecutionRecord> => ({
    ...record,
    args: (await dec(record.args))!,
    result: await dec(record.result),
    error: await dec(record.error),
    progress: await dec(record.progress),
    customState: await fields.decodeEntries(record.customState),
  });
  const executions = (records: ExecutionRecord[]) => Promise.all(records.map(execution));

  // A value step's arguments are its effect as JSON (the store rebuilds progress, state and events from
  // them): only the value inside is encoded, so that JSON stays readable by the store.
  const effectArgs = async (args: string, code: (text: string | null) => Promise<string | null>): Promise<string> => {
    const effect = JSON.parse(args) as StepEffect;
    if (effect.kind === 'counter') return args;
    if (effect.kind === 'stream') return JSON.stringify({ ...effect, chunk: await code(effect.chunk) });
    return JSON.stringify({ ...effect, value: await code(effect.value) });
  };
  const stepArgs = (kind: string, args: string | null, code: (text: string | null) => Promise<string | null>) =>
    args !== null && kind === 'value' ? effectArgs(args, code) : code(args);

  const step = async (record: StepRecord): Promise<StepRecord> => ({
    ...record,
    args: await stepArgs(record.kind, record.args, dec),
    result: await dec(record.result),
    error: await dec(record.error),
  });
  const steps = (records: StepRecord[]) => Promise.all(records.map(step));

  const newExecution = async (record: NewExecution): Promise<NewExecution> => ({ ...record, args: (await enc(record.args))! });
  const newStep = async (record: NewStep): Promise<NewStep> => {
    const out: NewStep = { ...record, args: await stepArgs(record.kind, record.args, enc) };
    if (record.result !== undefined) out.result = await enc(record.result);
    if (record.error !== undefined) out.error = await enc(record.error);
    if (record.child) out.child = await newExecution(record.child);
    if (record.effect) out.effect = JSON.parse(await effectArgs(JSON.stringify(record.effect), enc)) as StepEffect;
    return out;
  };
  const local = (completions: LocalCompletion[] | undefined) =>
    completions && Promise.all(completions.map(async (completion) => ({ ...completion, result: (await enc(completion.result))! })));
  const outcome = async (given: StepOutcome): Promise<StepOutcome> =>
    given.kind === 'completed' ? { ...given, result: (await enc(given.result))! } : { ...given, error: (await enc(given.error))! };
  const deadLetter = async <T extends DeadLetterRecord>(record: T): Promise<T> => ({ ...record, args: await dec(record.args), error: await dec(record.error) });

  const overrides: Overrides = {
    createExecution: async (record, transaction) => inner.createExecution(await newExecution(record), transaction),
    getExecution: async (id) => {
      const record = await inner.getExecution(id);
      return record && execution(record);
    },
    claimExecutions: async (filter) => executions(await inner.claimExecutions(filter)),
    listExecutions: async (filter, page) => {
      const listed = await inner.listExecutions(filter, page);
      return { ...listed, items: await executions(listed.items) };
    },
    loadJournal: async (id) => steps(await inner.loadJournal(id)),
    loadSteps: async (id, positions) => steps(await inner.loadSteps(id, positions)),
    loadStepsOf: async (requests) => steps(await inner.loadStepsOf(requests)),
    claimSteps: async (filter) => steps(await inner.claimSteps(filter)),
    createExecutionWithSteps: async (record, records) => inner.createExecutionWithSteps(await newExecution(record), await Promise.all(records.map(newStep))),
    insertSteps: async (fence, records, deliveries, completions) => inner.insertSteps(fence, await Promise.all(records.map(newStep)), deliveries, await local(completions)),
    resolveStep: async (fence, position, state, result, error, now) => inner.resolveStep(fence, position, state, await enc(result), await enc(error), now),
    completeSteps: async (completions: StepCompletion[]) =>
      inner.completeSteps(await Promise.all(completions.map(async (completion) => ({ ...completion, outcome: await outcome(completion.outcome) })))),
    completeHandingOff: async (completions: StepCompletion[], handOff) => {
      const done = await inner.completeHandingOff(await Promise.all(completions.map(async (completion) => ({ ...completion, outcome: await outcome(completion.outcome) }))), handOff);
      return { owned: done.owned, started: await steps(done.started) };
    },
    finishExecution: async (fence, state, result, error, now, options) =>
      inner.finishExecution(fence, state, await enc(result), await enc(error), now, options && { ...options, completions: await local(options.completions) }),
    finishHandingOff: async (fence, state, result, error, now, options, handOff) => {
      const done = await inner.finishHandingOff(fence, state, await enc(result), await enc(error), now, { ...options, completions: await local(options.completions) }, handOff);
      return { ok: done.ok, started: await steps(done.started) };
    },
    failExecutionDeadLettered: async (fence, error, reason, now, deliveries) => inner.failExecutionDeadLettered(fence, (await enc(error))!, reason, now, deliveries),
    consumeSignal: async (fence, position, name, now, timeoutError) => {
      const taken = await inner.consumeSignal(fence, position, name, now, await enc(timeoutError));
      return taken.kind === 'received' ? { ...taken, payload: (await dec(taken.payload))! } : taken;
    },
    sendSignal: async (id, name, payload, now) => inner.sendSignal(id, name, (await enc(payload))!, now),
    cancelExecution: async (id, error, now) => inner.cancelExecution(id, (await enc(error))!, now),
    lookupCache: async (key, now) => dec(await inner.lookupCache(key, now)),
    getEvent: async (id, key) => dec(await inner.getEvent(id, key)),
    readStream: async (id, key, from, limit) =>
      Promise.all((await inner.readStream(id, key, from, limit)).map(async (entry) => ({ ...entry, chunk: await dec(entry.chunk) }))),
    listDeadLetters: async (filter, page) => {
      const listed = await inner.listDeadLetters(filter, page);
      return { ...listed, items: await Promise.all(listed.items.map(deadLetter)) };
    },
    getDeadLetter: async (id) => {
      const record = await inner.getDeadLetter(id);
      return record && deadLetter(record);
    },
  };

  return new Proxy(inner, {
    get(target, property, receiver) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof Overrides];
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
