// The README's second "A full example" block: the same classes on the engine without Nest, as written.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { StentExecutor } from 'nestjs-stent';
import { OrderWorkflow } from '../../sample/full-example/orders/order.workflow.js';
import { importReadmeExample } from '../support/readme-example.js';
import { waitUntil } from '../support/wait.js';

const sampleDir = join(dirname(fileURLToPath(import.meta.url)), '../../sample/full-example');

describe('the README engine-without-Nest example, as written', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('runs the full example order up to its durable timer on a worker it started', async () => {
    const { module, cleanup } = await importReadmeExample<{ executor: StentExecutor }>('A full example', { block: 2, dir: sampleDir });
    cleanups.push(cleanup, () => module.executor.close());
    const { executor } = module;
    expect(executor.readiness()).toBe('ready');
    const id = await executor.dispatch(OrderWorkflow, ['o-1', [{ id: 'l1', cents: 500 }]]);
    const journal = await waitUntil(async () => {
      const steps = await executor.getJournal(id);
      return steps.some((s) => s.kind === 'sleep') ? steps : undefined;
    }, 'the order reaches its 30-minute sleep');
    expect(journal.map((s) => [s.kind, s.name, s.state])).toEqual([
      ['activity', 'PaymentActivities.charge', 'completed'],
      ['sleep', expect.any(String), 'waiting'],
    ]);
    expect(journal[0]!.result).toEqual({ id: 'rcpt_o-1', orderId: 'o-1', cents: 1999 });
    // Its worker serves the queue the refund is routed to, as the Nest app's does.
    const [worker] = (await executor.listWorkers()).filter((w) => w.status === 'live');
    expect(worker!.queues.sort()).toEqual(['default', 'slow']);
  });
});
