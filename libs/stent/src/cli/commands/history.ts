import { integer, required } from '../arguments.js';
import { CliUsageError } from '../cli-usage.error.js';
import type { Command } from '../command.js';

/** --from: the journal position to go back to (required). */
function fromPosition(value: unknown): number {
  if (value === undefined) throw new CliUsageError('missing --from <position> (a journal position, as `stent show` lists them)');
  return integer('--from', value as string, 0, Number.MAX_SAFE_INTEGER)!;
}

export const forkCommand: Command = {
  words: ['fork'],
  args: '<id>',
  summary: 'Start a new execution that reuses this one\'s journal before a position and runs the rest anew',
  maxArgs: 1,
  options: { from: { type: 'string' }, args: { type: 'string' }, id: { type: 'string' } },
  optionHelp: [
    ['--from <position>', 'steps before this journal position are reused (required)'],
    ['--args <json>', 'the new execution\'s arguments, a JSON array (default: the same)'],
    ['--id <id>', 'id of the new execution (default: a new UUID)'],
  ],
  async run(ctx) {
    const id = required(ctx.parsed, 0, 'id');
    const v = ctx.parsed.values;
    const from = fromPosition(v.from);
    let args: unknown[] | undefined;
    if (v.args !== undefined) {
      try {
        args = JSON.parse(v.args as string) as unknown[];
      } catch (error) {
        throw new CliUsageError(`--args: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
      }
      if (!Array.isArray(args)) throw new CliUsageError('--args: must be a JSON array of the arguments of run()');
    }
    const executor = await ctx.executor();
    const execution = await executor.getExecution(id);
    await ctx.confirm(`Fork execution ${id} (${execution.workflowName}, ${execution.state}) from position ${from}`);
    const forked = await executor.fork(id, { fromPosition: from, args, executionId: v.id as string | undefined });
    if (ctx.parsed.global.json) return ctx.json({ id: forked, forkedFrom: id, forkedAt: from });
    ctx.print(`Forked ${id} from position ${from} as ${forked}.`);
  },
};

export const rewindCommand: Command = {
  words: ['rewind'],
  args: '<id>',
  summary: 'Run a finished execution again from a journal position, in place',
  maxArgs: 1,
  options: { from: { type: 'string' } },
  optionHelp: [['--from <position>', 'the steps from this journal position on are dropped and run again (required)']],
  async run(ctx) {
    const id = required(ctx.parsed, 0, 'id');
    const from = fromPosition(ctx.parsed.values.from);
    const executor = await ctx.executor();
    const execution = await executor.getExecution(id);
    await ctx.confirm(`Rewind execution ${id} (${execution.workflowName}, ${execution.state}) to position ${from}`);
    await executor.rewind(id, from);
    if (ctx.parsed.global.json) return ctx.json({ id, rewoundTo: from });
    ctx.print(`Rewound ${id} to position ${from}; it runs again from there.`);
  },
};
