import { describe, expect, it } from 'vitest';
import type { StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { QUICK_WORKER } from '../support/executor-set.js';
import { jsonOf } from '../support/stent-cli.js';
import { waitUntil } from '../support/wait.js';
import { acceptCards, Approval, Billing, Checkout, operatingInstances } from '../fixtures/operating-flows.js';
import { cliBench } from './cli-bench.js';

describe.each(DIALECTS)('stent fork and rewind on %s', (dialect) => {
  let executor: StentExecutor;
  const { stent } = cliBench(
    dialect,
    async (set) => {
      executor = await set.executor(operatingInstances(), { ...QUICK_WORKER, queues: ['default', 'billing'] });
    },
    () => acceptCards(false),
  );

  it('rewind runs a failed execution again from a position; fork starts a new one, with new arguments if given', async () => {
    const billing = await executor.dispatch(Billing, ['4242']);
    expect((await executor.waitFor(billing, { timeout: '30s' })).state).toBe('failed');
    acceptCards(true);
    const rewound = await stent('rewind', billing, '--from', '1', '--yes');
    expect(rewound.code, rewound.stderr).toBe(0);
    expect(rewound.stdout).toBe(`Rewound ${billing} to position 1; it runs again from there.\n`);
    expect((await executor.waitFor(billing, { timeout: '30s' })).value).toBe('charged 4242');
    expect((await stent('show', billing)).stdout).toMatch(/Rewound to:\s+position 1\n/);

    // Checkout: 0 and 1 the two child executions, 2 its progress.
    const checkout = await executor.dispatch(Checkout, ['o-1', [5, 7]]);
    await executor.waitFor(checkout, { timeout: '30s' });
    const forked = jsonOf(await stent('fork', checkout, '--from', '1', '--json', '--yes'));
    expect(forked).toMatchObject({ id: expect.any(String), forkedFrom: checkout, forkedAt: 1 });
    expect((await executor.waitFor(forked.id, { timeout: '30s' })).value).toBe('o-1 reserved');
    // The first child was reused, the second started anew.
    expect((await executor.listExecutions({ parentId: forked.id })).total).toBe(1);
    expect((await stent('show', forked.id)).stdout).toMatch(new RegExp(`Forked from:\\s+${checkout} at position 1\\n`));

    const whatIf = await stent('fork', checkout, '--from', '0', '--args', '["o-2", [1, 2, 3]]', '--id', 'fork-o-2', '--yes');
    expect(whatIf.code, whatIf.stderr).toBe(0);
    expect(whatIf.stdout).toBe(`Forked ${checkout} from position 0 as fork-o-2.\n`);
    expect((await executor.waitFor('fork-o-2', { timeout: '30s' })).value).toBe('o-2 reserved');
    expect((await executor.listExecutions({ parentId: 'fork-o-2' })).total).toBe(3);
  });

  it('refuses a missing or bad --from, bad --args, a position past the journal and a running execution', async () => {
    const checkout = await executor.dispatch(Checkout, ['o-3', [1]]);
    await executor.waitFor(checkout, { timeout: '30s' });
    const approval = await executor.dispatch(Approval, ['r-1']);
    await waitUntil(async () => (await executor.getJournal(approval)).some((step) => step.kind === 'signal'), 'the approval to wait');
    const cases: Array<[string[], number, RegExp]> = [
      [['fork', checkout, '--yes'], 2, /^stent: missing --from <position>/],
      [['rewind', checkout, '--from', 'two', '--yes'], 2, /^stent: --from: expected a whole number/],
      [['fork', checkout, '--from', '0', '--args', '{"not":"a list"}', '--yes'], 2, /^stent: --args: must be a JSON array/],
      [['fork', checkout, '--from', '9', '--yes'], 2, /\[STENT_HISTORY_POSITION\]\n$/],
      [['rewind', approval, '--from', '0', '--yes'], 4, /\[STENT_EXECUTION_NOT_FINISHED\]\n$/],
      [['fork', 'no-such-id', '--from', '0', '--yes'], 3, /\[STENT_EXECUTION_NOT_FOUND\]\n$/],
      [['rewind', checkout, '--from', '0'], 6, /./],
    ];
    for (const [args, code, stderr] of cases) {
      const run = await stent(...args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(code);
      expect(run.stderr, args.join(' ')).toMatch(stderr);
    }
    expect((await executor.getExecution(checkout)).state).toBe('completed');
  });
});
