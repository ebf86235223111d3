import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/databases.js';
import { newExecution, newStep } from '../support/executions.js';
import { capture } from '../support/statement-capture.js';
import { planOf } from '../support/statement-plans.js';
import { storeBench } from '../support/store-bench.js';

/**
 * A local dispatch inserts its execution claimed unless work waits before it or its queue or workflow is
 * paused: one check whose answer decides seven of the row's columns. PostgreSQL copies a subquery read in
 * several places into each of them unless it is fenced, and the dispatch would then read the claim-order
 * index and the pauses seven times each; SQLite computes it once either way.
 */

const OWNER = 'birth-worker';

describe.each(DIALECTS)('the busy check of a dispatch born claimed on %s', (dialect) => {
  const open = storeBench(dialect);

  it('reads the pauses and the waiting executions once (on PostgreSQL in the generic plan and the custom one)', async () => {
    const { store, inspector } = await open();
    const now = Date.now();
    const claimedBy = { owner: OWNER, leaseExpiresAt: now + 60_000 };
    const sent = await capture(async () => {
      const outcome = await store.createExecutionWithSteps(newExecution('born', now, { claimedBy }), [newStep('born-step', 'born', 0, now)]);
      expect(outcome).toEqual({ id: 'born', created: true, claimed: true });
    });
    // One statement on PostgreSQL; on SQLite the execution's insert in a transaction with its steps'.
    const births = sent.filter((statement) => /INSERT INTO \S*stent_executions/.test(statement.sql) && /AS busy/.test(statement.sql));
    expect(births, sent.map((statement) => statement.sql).join('\n\n')).toHaveLength(1);
    for (const generic of dialect === 'postgres' ? [false, true] : [false]) {
      const plan = await planOf(inspector, births[0]!, generic);
      const shown = `${generic ? 'generic' : 'custom'} plan:\n${plan.join('\n')}`;
      if (dialect === 'postgres') {
        expect(plan.filter((line) => / on stent_pauses p\b/.test(line)), shown).toHaveLength(1);
        expect(plan.filter((line) => / on stent_executions c\b/.test(line)), shown).toHaveLength(1);
      } else {
        // SQLite's plan names each subquery once where it is computed (the pauses' two index searches are its OR).
        expect(plan.filter((line) => /^SCALAR SUBQUERY/.test(line)), shown).toHaveLength(2);
        expect(plan.filter((line) => /\b(SCAN|SEARCH) c\b/.test(line)), shown).toHaveLength(1);
      }
    }
    const born = await store.getExecution('born');
    expect(born).toMatchObject({ state: 'running', leaseOwner: OWNER });
    expect((await store.loadJournal('born')).map((step) => step.id)).toEqual(['born-step']);
  });
});
