import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, InvalidCursorError, InvalidFilterError, ManualClock, MAX_PAGE_LIMIT, type StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, rejectionOf } from '../support/executor-set.js';

class Invoice {
  async run(n: number): Promise<number> {
    return n;
  }
}
defineWorkflow(Invoice);

class Refund {
  async run(): Promise<void> {}
}
defineWorkflow(Refund, { queue: 'refunds', tags: ['eu_1'] });

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;

/** Every id of a listing, page after page by cursor. */
async function allByCursor(executor: StentExecutor, limit: number, filter = {}): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await executor.listExecutions(filter, { limit, cursor });
    pages++;
    ids.push(...page.items.map((item) => item.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { ids, pages };
}

describe.each(DIALECTS)('listExecutions on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('filters by state, workflow, queue, tag, created and updated ranges and id prefix, exactly', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(T0);
    // No worker: what is dispatched stays pending with the times the clock gave it.
    const executor = await set.executor([new Invoice(), new Refund()], false, false, clock);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(await executor.dispatch(Invoice, [i], { executionId: `inv_${i}` }));
      clock.advance(MINUTE);
    }
    const refund = await executor.dispatch(Refund, [], { executionId: 'inv-refund' });
    const other = await executor.dispatch(Invoice, [9], { executionId: 'INV_upper', tags: ['eu-1'] });
    clock.advance(MINUTE);
    await executor.cancel('inv_1');

    const list = (filter: object) => executor.listExecutions(filter).then((page) => page.items.map((item) => item.id));
    expect((await executor.listExecutions()).total).toBe(8);
    expect(await list({ state: 'cancelled' })).toEqual(['inv_1']);
    expect(new Set(await list({ state: ['cancelled', 'pending'], workflowName: 'Refund' }))).toEqual(new Set([refund]));
    expect(await list({ queue: 'refunds' })).toEqual([refund]);
    // Tags match exactly: 'eu_1' is not a pattern for 'eu-1'.
    expect(await list({ tag: 'eu_1' })).toEqual([refund]);
    expect(await list({ tag: 'eu-1' })).toEqual([other]);
    // Newest first; created range inclusive at the start, exclusive at the end, as Date, ISO string or ms.
    expect(await list({ workflowName: 'Invoice', createdAfter: new Date(T0 + MINUTE), createdBefore: new Date(T0 + 3 * MINUTE).toISOString() })).toEqual(['inv_2', 'inv_1']);
    expect(await list({ createdBefore: T0 + MINUTE })).toEqual(['inv_0']);
    // Only the cancelled one changed after it was created.
    expect(await list({ updatedAfter: T0 + 6 * MINUTE + 1 })).toEqual(['inv_1']);
    expect((await executor.listExecutions({ updatedBefore: T0 + 6 * MINUTE })).total).toBe(5);
    // An id prefix is literal text: '_' is no wildcard, case counts.
    expect(new Set(await list({ idPrefix: 'inv_' }))).toEqual(new Set(ids));
    expect(await list({ idPrefix: 'inv-' })).toEqual([refund]);
    expect(await list({ idPrefix: 'INV' })).toEqual([other]);
    expect(await list({ idPrefix: 'inv_3' })).toEqual(['inv_3']);
  });

  it('pages by cursor (stable while executions are added) and by offset, with the total', async () => {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(T0);
    const executor = await set.executor([new Invoice()], false, false, clock);
    // Several executions share a creation time: the id breaks the tie, so no row is skipped or repeated.
    for (let i = 0; i < 23; i++) {
      await executor.dispatch(Invoice, [i], { executionId: `p-${String(i).padStart(2, '0')}` });
      if (i % 4 === 3) clock.advance(1);
    }
    const first = await executor.listExecutions({}, { limit: 5 });
    expect(first).toMatchObject({ total: 23, limit: 5, offset: 0 });
    expect(first.items.map((item) => item.id)).toEqual(['p-22', 'p-21', 'p-20', 'p-19', 'p-18']);
    expect(first.nextCursor).toEqual(expect.any(String));
    // Executions dispatched after the first page do not shift the pages that follow.
    clock.advance(10);
    for (let i = 0; i < 3; i++) await executor.dispatch(Invoice, [i], { executionId: `late-${i}` });
    const rest: string[] = [];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await executor.listExecutions({}, { limit: 5, cursor });
      expect(page.total).toBe(26);
      rest.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    }
    const expected = Array.from({ length: 18 }, (_, i) => `p-${String(17 - i).padStart(2, '0')}`);
    expect(rest).toEqual(expected);
    // A page that ends exactly at the last row says there is no next one.
    const whole = await allByCursor(executor, 13);
    expect(whole.ids).toHaveLength(26);
    expect(new Set(whole.ids).size).toBe(26);
    expect(whole.pages).toBe(2);
    // Offset paging with a filter.
    const offsetPage = await executor.listExecutions({ idPrefix: 'p-' }, { limit: 4, offset: 20 });
    expect(offsetPage).toMatchObject({ total: 23, offset: 20, nextCursor: null });
    expect(offsetPage.items.map((item) => item.id)).toEqual(['p-02', 'p-01', 'p-00']);
  });

  it('refuses a filter or page it cannot apply with a typed bad-input error', async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor([new Invoice()], false, false);
    const cases: Array<[object, object, string]> = [
      [{}, { limit: MAX_PAGE_LIMIT + 1 }, 'limit'],
      [{}, { limit: 0 }, 'limit'],
      [{}, { limit: 2.5 }, 'limit'],
      [{}, { offset: -1 }, 'offset'],
      [{ state: 'done' }, {}, 'state'],
      [{ state: [] }, {}, 'state'],
      [{ workflow: 'Invoice' }, {}, 'workflow'],
      [{ createdAfter: 'yesterday' }, {}, 'createdAfter'],
      [{ updatedBefore: {} }, {}, 'updatedBefore'],
      [{ queue: '' }, {}, 'queue'],
      [{ tag: 'a\u0000b' }, {}, 'tag'],
      [{}, { cursor: 'x', offset: 3 }, 'offset'],
    ];
    for (const [filter, page, field] of cases) {
      const error = await rejectionOf(executor.listExecutions(filter as never, page as never));
      expect(error, JSON.stringify([filter, page])).toBeInstanceOf(InvalidFilterError);
      expect(error).toMatchObject({ code: 'STENT_INVALID_FILTER', category: 'bad_input', field });
    }
    for (const cursor of ['not-a-cursor', Buffer.from('[2,1,"x"]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url')]) {
      const error = await rejectionOf(executor.listExecutions({}, { cursor }));
      expect(error).toBeInstanceOf(InvalidCursorError);
      expect(error).toMatchObject({ code: 'STENT_INVALID_CURSOR', category: 'bad_input' });
    }
  });
});
