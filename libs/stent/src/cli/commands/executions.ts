import { EXECUTION_STATES } from '../../core/executor/operations/execution-query.js';
import type { ExecutionListFilter } from '../../core/executor/operations/execution-query.js';
import { isFinalState, type ExecutionState } from '../../core/api/result.js';
import { ExecutionFinishedError } from '../../core/errors/index.js';
import { integer, list, required } from '../arguments.js';
import { CliUsageError } from '../cli-usage.error.js';
import type { Command } from '../command.js';
import { executionLines, executionRows, EXECUTION_HEADERS } from '../views/execution-view.js';
import { screenTable } from '../format.js';

const listOptions = {
  state: { type: 'string', multiple: true, short: 's' },
  workflow: { type: 'string', short: 'w' },
  queue: { type: 'string', short: 'q' },
  tag: { type: 'string' },
  parent: { type: 'string' },
  'id-prefix': { type: 'string' },
  'created-after': { type: 'string' },
  'created-before': { type: 'string' },
  'updated-after': { type: 'string' },
  'updated-before': { type: 'string' },
  limit: { type: 'string', short: 'n' },
  offset: { type: 'string' },
  cursor: { type: 'string' },
} as const;

export const listCommand: Command = {
  words: ['list'],
  summary: 'List executions, newest first',
  options: listOptions,
  optionHelp: [
    ['-s, --state <state>', `${EXECUTION_STATES.join(', ')} (repeat or comma-separate)`],
    ['-w, --workflow <name>', 'workflow name'],
    ['-q, --queue <queue>', 'queue'],
    ['--tag <tag>', 'carrying this tag'],
    ['--parent <id>', 'children of this execution'],
    ['--id-prefix <text>', 'ids starting with this text'],
    ['--created-after/--created-before <time>', 'ISO 8601 time or epoch ms'],
    ['--updated-after/--updated-before <time>', 'ISO 8601 time or epoch ms'],
    ['-n, --limit <n>', 'rows per page (default 50, at most 1000)'],
    ['--offset <n> | --cursor <c>', 'the page to show (cursor: from the previous page)'],
  ],
  async run(ctx) {
    const v = ctx.parsed.values;
    const filter: ExecutionListFilter = {};
    const states = list(v.state);
    if (states) filter.state = states as ExecutionState[];
    const text: Array<[keyof ExecutionListFilter, string]> = [
      ['workflowName', 'workflow'],
      ['queue', 'queue'],
      ['tag', 'tag'],
      ['parentId', 'parent'],
      ['idPrefix', 'id-prefix'],
      ['createdAfter', 'created-after'],
      ['createdBefore', 'created-before'],
      ['updatedAfter', 'updated-after'],
      ['updatedBefore', 'updated-before'],
    ];
    for (const [field, option] of text) if (v[option] !== undefined) (filter as Record<string, unknown>)[field] = v[option];
    if (v.offset !== undefined && v.cursor !== undefined) throw new CliUsageError('give --offset or --cursor, not both');
    const page = { limit: integer('--limit', v.limit as string | undefined, 1, 1000), offset: integer('--offset', v.offset as string | undefined, 0, Number.MAX_SAFE_INTEGER), cursor: v.cursor as string | undefined };
    const executor = await ctx.executor();
    const result = await executor.listExecutions(filter, Object.fromEntries(Object.entries(page).filter(([, value]) => value !== undefined)));
    if (ctx.parsed.global.json) return ctx.json(result);
    if (result.items.length === 0) return ctx.print(result.total === 0 ? 'No executions match.' : `No executions on this page (${result.total} match).`);
    const from = result.offset + 1;
    const footer = `${result.items.length} of ${result.total} execution(s)${result.offset ? ` from #${from}` : ''}${result.nextCursor ? `; next page: --cursor ${result.nextCursor}` : ''}`;
    ctx.print(screenTable(ctx.term, EXECUTION_HEADERS, executionRows(ctx.term, result.items), footer));
  },
};

export const showCommand: Command = {
  words: ['show'],
  args: '<id>',
  summary: 'One execution: arguments, result or error, progress, children, timings and its journal',
  maxArgs: 1,
  async run(ctx) {
    const id = required(ctx.parsed, 0, 'id');
    const executor = await ctx.executor();
    const execution = await executor.getExecution(id);
    const journal = await executor.getJournal(id);
    if (ctx.parsed.global.json) return ctx.json({ execution, journal });
    ctx.print(executionLines(ctx.term, execution, journal));
  },
};

export const cancelCommand: Command = {
  words: ['cancel'],
  args: '<id>',
  summary: 'Cancel an execution and its child executions',
  maxArgs: 1,
  async run(ctx) {
    const id = required(ctx.parsed, 0, 'id');
    const executor = await ctx.executor();
    const execution = await executor.getExecution(id);
    if (isFinalState(execution.state)) throw new ExecutionFinishedError(id, execution.state);
    await ctx.confirm(`Cancel execution ${id} (${execution.workflowName}, ${execution.state})`);
    const outcome = await executor.cancel(id);
    // It may have finished between the question and the answer.
    if (!outcome.cancelled) throw new ExecutionFinishedError(id, outcome.state);
    if (ctx.parsed.global.json) return ctx.json({ id, ...outcome });
    ctx.print(`Cancelled ${id}.`);
  },
};

export const signalCommand: Command = {
  words: ['signal'],
  args: '<id> <name> [json]',
  summary: 'Send a signal (with an optional JSON payload) to an execution',
  maxArgs: 3,
  async run(ctx) {
    const id = required(ctx.parsed, 0, 'id');
    const name = required(ctx.parsed, 1, 'name');
    const raw = ctx.parsed.positionals[2];
    let payload: unknown;
    if (raw !== undefined) {
      try {
        payload = JSON.parse(raw);
      } catch (error) {
        throw new CliUsageError(`[json]: not valid JSON (${error instanceof Error ? error.message : String(error)}); quote strings: '"text"'`);
      }
    }
    const executor = await ctx.executor();
    await ctx.confirm(`Send signal '${name}' to execution ${id}`);
    await executor.sendSignal(id, name, payload);
    if (ctx.parsed.global.json) return ctx.json({ id, signal: name, sent: true });
    ctx.print(`Sent signal '${name}' to ${id}.`);
  },
};

export const retryCommand: Command = {
  words: ['retry'],
  args: '<id>',
  summary: 'Retry a failed execution from the step that failed',
  maxArgs: 1,
  async run(ctx) {
    const id = required(ctx.parsed, 0, 'id');
    const executor = await ctx.executor();
    const execution = await executor.getExecution(id);
    await ctx.confirm(`Retry execution ${id} (${execution.workflowName}, ${execution.state})`);
    await executor.retry(id);
    if (ctx.parsed.global.json) return ctx.json({ id, retried: true });
    ctx.print(`Retrying ${id}.`);
  },
};
