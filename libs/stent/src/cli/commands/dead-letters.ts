import { integer, required } from '../arguments.js';
import type { Command } from '../command.js';
import { fields, inline, screenTable, when } from '../format.js';
import { paint, paintState } from '../terminal.js';

const errorText = (error: Error | undefined) => (error ? `${error.name}: ${error.message}` : '-');

export const dlqListCommand: Command = {
  words: ['dlq', 'list'],
  summary: 'List dead letters (tasks that failed for good), newest first',
  options: { execution: { type: 'string', short: 'e' }, name: { type: 'string' }, limit: { type: 'string', short: 'n' }, offset: { type: 'string' } },
  optionHelp: [
    ['-e, --execution <id>', 'of this execution'],
    ['--name <name>', 'of this activity (or workflow)'],
    ['-n, --limit <n> / --offset <n>', 'the page (default 50 rows, at most 1000)'],
  ],
  async run(ctx) {
    const v = ctx.parsed.values;
    const query = {
      executionId: v.execution as string | undefined,
      name: v.name as string | undefined,
      limit: integer('--limit', v.limit as string | undefined, 1, 1000),
      offset: integer('--offset', v.offset as string | undefined, 0, Number.MAX_SAFE_INTEGER),
    };
    const executor = await ctx.executor();
    const result = await executor.listDeadLetters(Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined)));
    if (ctx.parsed.global.json) return ctx.json(result);
    if (result.items.length === 0) return ctx.print(result.total === 0 ? 'No dead letters.' : `No dead letters on this page (${result.total} in all).`);
    const rows = result.items.map((item) => [item.id, item.executionId, item.kind, item.name, String(item.attempts), item.reason, errorText(item.error), when(item.createdAt)]);
    ctx.print(screenTable(ctx.term, ['ID', 'EXECUTION', 'KIND', 'NAME', 'ATTEMPTS', 'REASON', 'ERROR', 'CREATED'], rows, `${result.items.length} of ${result.total} dead letter(s)`));
  },
};

export const dlqShowCommand: Command = {
  words: ['dlq', 'show'],
  args: '<id>',
  summary: 'One dead letter: its task, arguments, error with stack, and its execution',
  maxArgs: 1,
  async run(ctx) {
    const executor = await ctx.executor();
    const letter = await executor.getDeadLetter(required(ctx.parsed, 0, 'id'));
    if (ctx.parsed.global.json) return ctx.json(letter);
    const lines = fields(ctx.term, [
      ['Dead letter', paint(ctx.term, 'bold', letter.id)],
      ['Execution', `${letter.executionId} (${letter.workflowName ?? 'gone'}${letter.executionState ? `, ${paintState(ctx.term, letter.executionState)}` : ''})`],
      ['Task', `${letter.kind} ${letter.name}`],
      ['Arguments', inline(letter.args)],
      ['Attempts', String(letter.attempts)],
      ['Reason', letter.reason],
      ['Error', errorText(letter.error)],
      ['Created', when(letter.createdAt)],
    ]);
    if (letter.error?.stack) lines.push('', ...letter.error.stack.split('\n').slice(1, 8).map((line) => paint(ctx.term, 'dim', line)));
    ctx.print(lines);
  },
};

export const dlqReplayCommand: Command = {
  words: ['dlq', 'replay'],
  args: '<id>',
  summary: 'Run a dead-lettered task again and revive its execution from there',
  maxArgs: 1,
  async run(ctx) {
    const id = required(ctx.parsed, 0, 'id');
    const executor = await ctx.executor();
    const letter = await executor.getDeadLetter(id);
    await ctx.confirm(`Replay dead letter ${id} (${letter.kind} ${letter.name} of execution ${letter.executionId})`);
    const { executionId } = await executor.dlq.replay(id);
    if (ctx.parsed.global.json) return ctx.json({ id, executionId, replayed: true });
    ctx.print(`Replayed ${id}; execution ${executionId} runs again.`);
  },
};

export const dlqReplayAllCommand: Command = {
  words: ['dlq', 'replay-all'],
  summary: 'Replay every dead letter, oldest first',
  async run(ctx) {
    const executor = await ctx.executor();
    const { total } = await executor.listDeadLetters({ limit: 1 });
    if (total === 0) {
      if (ctx.parsed.global.json) return ctx.json({ replayed: [], failed: [] });
      return ctx.print('No dead letters to replay.');
    }
    await ctx.confirm(`Replay all ${total} dead letter(s)`);
    const outcome = await executor.dlq.replayAll();
    // Some could not be replayed (revived by an earlier letter of the same execution, discarded meanwhile).
    if (outcome.failed.length) process.exitCode = 1;
    if (ctx.parsed.global.json) return ctx.json(outcome);
    const lines = [`Replayed ${outcome.replayed.length} dead letter(s).`];
    for (const failed of outcome.failed) lines.push(`  ${failed.id}: not replayed (${failed.error.message})`);
    ctx.print(lines);
  },
};

export const dlqDiscardCommand: Command = {
  words: ['dlq', 'discard'],
  args: '<id>',
  summary: 'Remove a dead letter (its execution stays as it is)',
  maxArgs: 1,
  async run(ctx) {
    const id = required(ctx.parsed, 0, 'id');
    const executor = await ctx.executor();
    const letter = await executor.getDeadLetter(id);
    await ctx.confirm(`Discard dead letter ${id} (${letter.kind} ${letter.name} of execution ${letter.executionId})`);
    await executor.dlq.discard(id);
    if (ctx.parsed.global.json) return ctx.json({ id, discarded: true });
    ctx.print(`Discarded ${id}.`);
  },
};
