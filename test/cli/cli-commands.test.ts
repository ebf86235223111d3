import { describe, expect, it } from 'vitest';
import type { StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { QUICK_WORKER } from '../support/executor-set.js';
import { jsonOf, runStent } from '../support/stent-cli.js';
import { waitUntil } from '../support/wait.js';
import { acceptCards, Approval, Billing, Checkout, operatingInstances } from '../fixtures/operating-flows.js';
import { cliBench } from './cli-bench.js';

const ANSI = /\u001b\[/;

describe.each(DIALECTS)('the stent CLI on %s', (dialect) => {
  let executor: StentExecutor;
  const ids: Record<string, string> = {};
  const cli = cliBench(
    dialect,
    async (set) => {
      executor = await set.executor(operatingInstances(), { ...QUICK_WORKER, queues: ['default', 'billing'] });
      ids.checkout = await executor.dispatch(Checkout, ['o-1', [5, 7]]);
      ids.billing = await executor.dispatch(Billing, ['4242']);
      ids.approval = await executor.dispatch(Approval, ['refund-9']);
      ids.cancelMe = await executor.dispatch(Approval, ['to-cancel']);
      expect((await executor.waitFor(ids.checkout, { timeout: '30s' })).state).toBe('completed');
      expect((await executor.waitFor(ids.billing, { timeout: '30s' })).state).toBe('failed');
      await waitUntil(async () => (await executor.getExecution(ids.approval)).progress && (await executor.getExecution(ids.cancelMe)).progress, 'the approvals to wait for their signal');
    },
    () => acceptCards(false),
  );
  const { stent } = cli;

  it('list prints a table of the executions, filters as the API does, and --json gives the page', async () => {
    const table = await stent('list');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stderr).toBe('');
    expect(table.stdout).toMatch(/^ID\s+WORKFLOW\s+STATE\s+QUEUE\s+PROGRESS\s+CREATED\s+UPDATED/);
    for (const id of Object.values(ids)) expect(table.stdout).toContain(id);
    expect(table.stdout).toMatch(new RegExp(`${ids.billing}\\s+Billing\\s+failed\\s+billing`));
    expect(table.stdout).not.toMatch(ANSI);
    expect(table.stdout).toMatch(/6 of 6 execution\(s\)/); // 4 dispatched and the 2 children of the checkout
    const failed = jsonOf(await stent('list', '--state', 'failed', '--json'));
    expect(Object.keys(failed).sort()).toEqual(['items', 'limit', 'nextCursor', 'offset', 'total']);
    expect(failed.items.map((item: { id: string }) => item.id)).toEqual([ids.billing]);
    expect(failed.items[0]).toMatchObject({ workflowName: 'Billing', state: 'failed', queue: 'billing', args: ['4242'], progress: { done: 1, total: 2 } });
    expect(typeof failed.items[0].createdAt).toBe('string');
    const byWorkflow = jsonOf(await stent('list', '-w', 'Approval', '--tag', 'manual', '--state', 'running,pending', '--json'));
    expect(byWorkflow.items.map((item: { id: string }) => item.id).sort()).toEqual([ids.approval, ids.cancelMe].sort());
    const children = jsonOf(await stent('list', '--parent', ids.checkout, '--json'));
    expect(children.total).toBe(2);
    const paged = jsonOf(await stent('list', '--limit', '2', '--json'));
    expect(paged.items).toHaveLength(2);
    const next = jsonOf(await stent('list', '--limit', '2', '--cursor', paged.nextCursor, '--json'));
    expect(next.items).toHaveLength(2);
    expect(next.items[0].id).not.toBe(paged.items[1].id);
  });

  it('show prints the execution with its progress bar, error and journal; --json gives detail and journal', async () => {
    const shown = await stent('show', ids.billing);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/Workflow:\s+Billing/);
    expect(shown.stdout).toMatch(/State:\s+failed/);
    expect(shown.stdout).toMatch(/Progress:\s+#{10}\.{10}\s+50%/);
    expect(shown.stdout).toMatch(/Error:\s+ActivityFailedError: Activity 'Payments.charge' failed after 1 attempt: card 4242 declined \[STENT_ACTIVITY_FAILED\]/);
    expect(shown.stdout).toMatch(/Journal \(2 steps\)/);
    expect(shown.stdout).toMatch(/0\s+value\s+setProgress\s+completed/);
    expect(shown.stdout).toMatch(/1\s+activity\s+Payments\.charge\s+failed\s+1\s+.*NonRetryableError: card 4242 declined \[STENT_NON_RETRYABLE\]/);
    const checkout = await stent('show', ids.checkout);
    expect(checkout.stdout).toMatch(/Children:\s+2 \(2 completed\)/);
    expect(checkout.stdout).toMatch(/Result:\s+o-1 reserved/);
    const json = jsonOf(await stent('show', ids.approval, '--json'));
    expect(json.execution).toMatchObject({ id: ids.approval, workflowName: 'Approval', state: 'running', progress: { done: 1, total: 2 }, tags: ['manual'] });
    expect(json.journal.map((step: { kind: string; name: string }) => `${step.kind}:${step.name}`)).toEqual(['activity:Payments.reserve', 'value:setProgress', 'signal:approve']);
  });

  it('an unknown id, bad arguments and a bad filter exit non-zero with one line on stderr', async () => {
    const unknown = await stent('show', 'no-such-id');
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe("stent: No execution with id 'no-such-id' [STENT_EXECUTION_NOT_FOUND]\n");
    const json = await stent('show', 'no-such-id', '--json');
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'STENT_EXECUTION_NOT_FOUND', category: 'not_found', message: "No execution with id 'no-such-id'" } });
    const cases: Array<[string[], RegExp]> = [
      [['list', '--state', 'sleeping'], /^stent: Invalid filter 'state': .*\[STENT_INVALID_FILTER\]\n$/],
      [['list', '--created-after', 'yesterday'], /^stent: Invalid filter 'createdAfter'.*\n$/],
      [['signal', ids.approval!, 'approve', '{nope'], /^stent: \[json\]: not valid JSON .*\n$/],
    ];
    for (const [args, stderr] of cases) {
      const run = await stent(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(stderr);
      expect(run.stdout, args.join(' ')).toBe('');
    }
  });

  // What follows does not depend on the database; it runs on one to keep the suite short.
  it('mutations refuse without --yes when stdin is not a terminal (exit 6) and change nothing', async () => {
    const before = await executor.listDeadLetters();
    const refused = [['cancel', ids.cancelMe!], ['signal', ids.approval!, 'approve', '"ok"'], ['retry', ids.billing!], ['dlq', 'replay', before.items[0]!.id], ['dlq', 'discard', before.items[0]!.id], ['dlq', 'replay-all'], ['cleanup', '--older-than', '0s']];
    // Independent processes, started together: each must refuse on its own.
    const runs = await Promise.all(refused.map((args) => stent(...args)));
    for (const [index, args] of refused.entries()) {
      const run = runs[index]!;
      expect(run.code, args.join(' ')).toBe(6);
      expect(run.stderr, args.join(' ')).toMatch(/not confirmed \(stdin is not a terminal; pass --yes to confirm\) \[STENT_CLI_NOT_CONFIRMED\]\n$/);
    }
    expect((await executor.getExecution(ids.cancelMe!)).state).toBe('running');
    expect((await executor.getExecution(ids.approval!)).state).toBe('running');
    expect((await executor.getExecution(ids.billing!)).state).toBe('failed');
    expect((await executor.listDeadLetters()).total).toBe(before.total);
    expect((await executor.listExecutions()).total).toBe(6);
  });

  it('dlq list and show describe the dead letter; --json gives the page and the letter', async () => {
    const listed = await stent('dlq', 'list');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+EXECUTION\s+KIND\s+NAME\s+ATTEMPTS\s+REASON\s+ERROR\s+CREATED/);
    expect(listed.stdout).toMatch(new RegExp(`${ids.billing}\\s+activity\\s+Payments\\.charge\\s+1\\s+non-retryable error\\s+NonRetryableError: card 4242 declined`));
    const page = jsonOf(await stent('dlq', 'list', '--execution', ids.billing!, '--json'));
    expect(page).toMatchObject({ total: 1, limit: 50, offset: 0 });
    const letterId = page.items[0].id;
    expect(page.items[0]).toMatchObject({ executionId: ids.billing, name: 'Payments.charge', args: ['4242'], error: { name: 'NonRetryableError', message: 'card 4242 declined' } });
    const shown = await stent('dlq', 'show', letterId);
    expect(shown.stdout).toMatch(new RegExp(`Execution:\\s+${ids.billing} \\(Billing, failed\\)`));
    expect(jsonOf(await stent('dlq', 'show', letterId, '--json'))).toMatchObject({ id: letterId, workflowName: 'Billing', executionState: 'failed' });
    const missing = await stent('dlq', 'show', 'no-such-letter');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/\[STENT_DEAD_LETTER_NOT_FOUND\]\n$/);
  });

  it('signal --yes delivers the JSON payload; cancel --yes cancels; cancelling a finished execution is a conflict (exit 4)', async () => {
    const signal = await stent('signal', ids.approval!, 'approve', '{"by":"ops"}', '--yes');
    expect(signal.code, signal.stderr).toBe(0);
    expect(signal.stdout).toBe(`Sent signal 'approve' to ${ids.approval}.\n`);
    const outcome = await executor.waitFor(ids.approval!, { timeout: '30s' });
    expect(outcome.ok && outcome.value).toEqual({ request: 'refund-9', payload: { by: 'ops' } });

    const cancel = await stent('cancel', ids.cancelMe!, '--yes', '--json');
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(jsonOf(cancel)).toEqual({ id: ids.cancelMe, cancelled: true, state: 'cancelled' });
    expect((await executor.getExecution(ids.cancelMe!)).state).toBe('cancelled');
    const again = await stent('cancel', ids.cancelMe!, '--yes');
    expect(again.code).toBe(4);
    expect(again.stderr).toBe(`stent: Execution '${ids.cancelMe}' is already cancelled [STENT_EXECUTION_FINISHED]\n`);
    const late = await stent('signal', ids.approval!, 'approve', '--yes');
    expect(late.code).toBe(4);
  });

  it('dlq replay --yes revives the failed execution, which then completes; retry and replay-all do the same', async () => {
    acceptCards(true);
    const [letter] = (await executor.listDeadLetters({ executionId: ids.billing })).items;
    const replay = await stent('dlq', 'replay', letter!.id, '--yes');
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toBe(`Replayed ${letter!.id}; execution ${ids.billing} runs again.\n`);
    expect((await executor.waitFor(ids.billing!, { timeout: '30s' })).state).toBe('completed');

    acceptCards(false);
    const second = await executor.dispatch(Billing, ['5555']);
    const third = await executor.dispatch(Billing, ['6666']);
    expect((await executor.waitFor(second, { timeout: '30s' })).state).toBe('failed');
    expect((await executor.waitFor(third, { timeout: '30s' })).state).toBe('failed');
    acceptCards(true);
    const retry = await stent('retry', second, '--yes');
    expect(retry.code, retry.stderr).toBe(0);
    expect((await executor.waitFor(second, { timeout: '30s' })).state).toBe('completed');
    const notFailed = await stent('retry', second, '--yes');
    expect(notFailed.code).toBe(4);

    const all = await stent('dlq', 'replay-all', '--yes', '--json');
    expect(all.code, all.stderr).toBe(0);
    const outcome = jsonOf(all);
    // The letter of `second` was replayed by retry already and is gone or no longer replayable: only third's counts.
    expect(outcome.replayed.map((item: { executionId: string }) => item.executionId)).toContain(third);
    expect((await executor.waitFor(third, { timeout: '30s' })).state).toBe('completed');

    const discardable = await executor.dispatch(Billing, ['7777']);
    acceptCards(false);
    const failedAgain = await executor.dispatch(Billing, ['8888']);
    expect((await executor.waitFor(failedAgain, { timeout: '30s' })).state).toBe('failed');
    await executor.waitFor(discardable, { timeout: '30s' });
    const [toDiscard] = (await executor.listDeadLetters({ executionId: failedAgain })).items;
    const discard = await stent('dlq', 'discard', toDiscard!.id, '-y');
    expect(discard.code, discard.stderr).toBe(0);
    expect((await executor.listDeadLetters({ executionId: failedAgain })).total).toBe(0);
  });

  it('stats and workers print the database-wide picture; --json shapes', async () => {
    const stats = await stent('stats');
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/Executions\n\s+pending \d+\s+running \d+\s+completed \d+\s+failed \d+\s+cancelled \d+\s+timed_out \d+/);
    expect(stats.stdout).toMatch(/Throughput\n\s+[\d.]+ steps\/min/);
    const json = jsonOf(await stent('stats', '--minutes', '5', '--json'));
    expect(Object.keys(json).sort()).toEqual(['activities', 'backlogAgeMs', 'deadLetters', 'executions', 'queues', 'throughput', 'unserved', 'workers']);
    expect(json.throughput.perMinute).toHaveLength(5);
    expect(json.executions.cancelled).toBe(1);

    const workers = await stent('workers');
    expect(workers.code, workers.stderr).toBe(0);
    expect(workers.stdout).toMatch(/^WORKER\s+STATUS\s+STATE\s+QUEUES/);
    expect(workers.stdout).toContain(executor.worker!.ownerId);
    expect(workers.stdout).toMatch(/live\s+running\s+default,billing/);
    const list = jsonOf(await stent('workers', '--json'));
    expect(list.find((worker: { id: string }) => worker.id === executor.worker!.ownerId)).toMatchObject({ status: 'live', queues: ['default', 'billing'] });
  });

  it('watch --frames 1 draws one plain frame when stdout is not a terminal (and one JSON line with --json)', async () => {
    const running = await executor.dispatch(Approval, ['watch-me']);
    await waitUntil(async () => (await executor.getExecution(running)).progress, 'the approval to report progress');
    const watch = await stent('watch', '--frames', '1');
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stdout).not.toMatch(ANSI);
    expect(watch.stdout.match(/^Stent {2}/gm)).toHaveLength(1);
    expect(watch.stdout).toMatch(/^Executions {2}pending \d+ {2}running 1 /m);
    expect(watch.stdout).toMatch(/^Throughput {2}/m);
    expect(watch.stdout).toMatch(new RegExp(`^Running \\(1\\)\\nID\\s+WORKFLOW\\s+PROGRESS\\s+RUNNING FOR\\n${running}\\s+Approval\\s+#+\\.+\\s+50%`, 'm'));
    expect(watch.stdout).toMatch(/^Recent failures \(\d+\)/m);
    expect(watch.stdout).toMatch(/^Dead letters \(\d+\)/m);
    const json = await stent('watch', '--frames', '2', '--interval', '50ms', '--json');
    const frames = json.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({ running: { total: 1 }, stats: { executions: { running: 1 } } });
    await executor.cancel(running);
  });

  it('colours only when forced or on a terminal, never with NO_COLOR or --no-color', async () => {
    const [forced, noColor, flag] = await Promise.all([
      runStent(['--database', cli.url, 'list'], { FORCE_COLOR: '1' }),
      runStent(['--database', cli.url, 'list'], { FORCE_COLOR: '1', NO_COLOR: '1' }),
      runStent(['--database', cli.url, 'list', '--no-color'], { FORCE_COLOR: '1' }),
    ]);
    expect(forced.stdout).toMatch(/\u001b\[1mID/);
    expect(noColor.stdout).not.toMatch(ANSI);
    expect(flag.stdout).not.toMatch(ANSI);
  });

  it('takes the database from STENT_DATABASE_URL', async () => {
    const run = await runStent(['list', '--state', 'cancelled', '--json'], { STENT_DATABASE_URL: cli.url });
    expect(run.code, run.stderr).toBe(0);
    expect(jsonOf(run).items.map((item: { id: string }) => item.id)).toContain(ids.cancelMe);
  });
});
