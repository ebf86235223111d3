import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, defineActivity, defineWorkflow, InvalidDurationError, InvalidNameError, RateLimitedError } from 'nestjs-stent';
import { getActivityDefinition } from 'nestjs-stent/internal';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';

describe('flow-control options', () => {
  const define = (options: object) => {
    class Target {
      async act(): Promise<void> {}
    }
    return () => defineActivity(Target, options);
  };

  it('refuses a limit that is not a whole number >= 1, a key that is not a function, and a bad window', () => {
    expect(define({ concurrency: { key: () => 'k', limit: 0 } })).toThrow(ConfigurationError);
    expect(define({ concurrency: { key: () => 'k', limit: 1.5 } })).toThrow(ConfigurationError);
    expect(define({ concurrency: { key: 'tenant', limit: 2 } })).toThrow(ConfigurationError);
    expect(define({ rateLimit: { limit: 0, per: '1s' } })).toThrow(ConfigurationError);
    expect(define({ rateLimit: { limit: 5, per: 0 } })).toThrow(ConfigurationError);
    expect(define({ rateLimit: { limit: 5, per: 'soon' } })).toThrow(InvalidDurationError);
    expect(define({ rateLimit: { limit: 5, per: '1s', key: 'tenant' } })).toThrow(ConfigurationError);
  });

  it('resolves method options over class options, each of concurrency and rateLimit as a whole', () => {
    class Mixed {
      async a(): Promise<void> {}
      async b(): Promise<void> {}
    }
    const key = (args: unknown[]) => String(args[0]);
    defineActivity(Mixed, { rateLimit: { limit: 10, per: '1m' } });
    const [a] = getActivityDefinition(Mixed)!.methods;
    expect(a!.flow.rate).toEqual({ limit: 10, perMs: 60_000, key: null });
    expect(a!.flow.concurrency).toBeNull();
    class WithKey {
      async a(): Promise<void> {}
    }
    defineActivity(WithKey, { concurrency: { key, limit: 3 } });
    expect(getActivityDefinition(WithKey)!.methods[0]!.flow.concurrency).toEqual({ key, limit: 3 });
  });

  it('RateLimitedError carries its wait and a stable code; a bad retryAfter is an InvalidDurationError', () => {
    const error = new RateLimitedError({ retryAfter: '1m30s' });
    expect(error).toMatchObject({ code: 'STENT_RATE_LIMITED', category: 'outcome', retryAfterMs: 90_000 });
    expect(() => new RateLimitedError({ retryAfter: 'later' })).toThrow(InvalidDurationError);
  });
});

class KeyedByArgument {
  async work(key: string): Promise<string> {
    return `worked for ${key}`;
  }
}
defineActivity(KeyedByArgument, { name: 'FlowOptionsKeyed', concurrency: { key: (args) => args[0] as string, limit: 1 } });

class CallsKeyed {
  constructor(private readonly acts: KeyedByArgument) {}
  async run(key: string): Promise<string> {
    return this.acts.work(key);
  }
}
defineWorkflow(CallsKeyed, { name: 'FlowOptionsCallsKeyed' });

describe.each(DIALECTS)('flow keys computed at the call (%s)', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  it('a key the database cannot store fails the call with an InvalidNameError; a good one runs', async () => {
    const acts = new KeyedByArgument();
    harness = await createHarness(dialect, [acts, new CallsKeyed(acts)]);
    const { executor } = harness;
    const bad = await executor.waitFor(await executor.dispatch(CallsKeyed, ['']), { timeout: '30s' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toBeInstanceOf(InvalidNameError);
    const good = await executor.waitFor(await executor.dispatch(CallsKeyed, ['tenant-1']), { timeout: '30s' });
    expect(good.ok && good.value).toBe('worked for tenant-1');
    expect(executor.listDefinitions().activities.find((activity) => activity.name === 'FlowOptionsKeyed.work')).toMatchObject({ concurrency: { limit: 1 }, rateLimit: null });
    const journal = await executor.getJournal((await executor.listExecutions({ state: 'completed' })).items[0]!.id);
    expect(journal.find((step) => step.kind === 'activity')?.state).toBe('completed');
  });
});
