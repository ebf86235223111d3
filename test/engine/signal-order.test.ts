import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineWorkflow, Stent, StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, openClient, QUICK_WORKER } from '../support/executor-set.js';
import { waitUntil } from '../support/wait.js';

/** Two waits for one signal name at once: the first call must get the first signal. */
class TwoWaits {
  async run(): Promise<unknown[]> {
    return Promise.all([Stent.waitForSignal('x'), Stent.waitForSignal('x')]);
  }
}
defineWorkflow(TwoWaits, { name: 'TwoWaits' });

describe.each(DIALECTS)('signals of one name reach their waits in call order on %s', (dialect) => {
  let set: ExecutorSet;
  afterEach(async () => set?.dispose());

  it('a signal stored between the first wait\'s take and the second\'s goes to the first wait', async () => {
    set = await ExecutorSet.create(dialect);
    const client = await openClient(set.db);
    set.onCleanup(() => client.close('2s').catch(() => undefined));
    const store = await createStentStore({ database: set.db.options });
    const takes: string[] = [];
    let sent = false;
    // The first wait's take finds nothing; the signal is stored right after it, before the second wait's take.
    const observed = new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property === 'consumeSignal') {
          return async (...args: Parameters<typeof target.consumeSignal>) => {
            const outcome = await target.consumeSignal(...args);
            takes.push(`${args[1]}:${outcome.kind}`);
            if (!sent && args[1] === 0 && outcome.kind === 'none') {
              sent = true;
              await client.sendSignal(args[0].executionId, 'x', 'first');
            }
            return outcome;
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const executor = new StentExecutor({ store: observed, worker: QUICK_WORKER, logger: set.logger });
    executor.register(new TwoWaits());
    set.onCleanup(() => executor.close('2s').catch(() => undefined));
    await executor.start();

    const id = await executor.dispatch(TwoWaits, []);
    await waitUntil(() => sent, 'the first signal to be sent between the two takes');
    await waitUntil(() => takes.includes('0:received') || takes.includes('1:received'), 'the first signal to be taken');
    await client.sendSignal(id, 'x', 'second');
    const result = await executor.waitFor<unknown[]>(id, { timeout: '30s' });
    expect({ value: result.value, takes }).toMatchObject({ value: ['first', 'second'] });
  });
});
