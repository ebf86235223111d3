import { FINAL_STATES, type ExecutionState } from '../../core/api/result.js';
import { duration, integer, list } from '../arguments.js';
import { CliUsageError } from '../cli-usage.error.js';
import type { Command } from '../command.js';
import { fields, span, when } from '../format.js';

export const migrateCommand: Command = {
  words: ['migrate'],
  summary: "Create or upgrade Stent's tables (creates the SQLite file if needed)",
  async run(ctx) {
    const executor = await ctx.executor();
    await executor.migrate();
    if (ctx.parsed.global.json) return ctx.json({ migrated: true });
    ctx.print("Stent's tables are up to date.");
  },
};

export const cleanupCommand: Command = {
  words: ['cleanup'],
  summary: 'Remove finished executions (with their children, steps, signals, dead letters), expired cache and old worker rows',
  options: {
    'older-than': { type: 'string' },
    state: { type: 'string', multiple: true, short: 's' },
    'dry-run': { type: 'boolean' },
    'batch-size': { type: 'string' },
  },
  optionHelp: [
    ['--older-than <duration>', 'finished longer ago than this (required), e.g. 30d'],
    ['-s, --state <state>', `only these final states: ${FINAL_STATES.join(', ')} (default all; repeat or comma-separate)`],
    ['--dry-run', 'count what would be removed, remove nothing'],
    ['--batch-size <n>', 'executions removed per transaction (default 200)'],
  ],
  async run(ctx) {
    const v = ctx.parsed.values;
    const olderThan = v['older-than'] as string | undefined;
    if (olderThan === undefined) throw new CliUsageError("cleanup needs --older-than <duration>, e.g. --older-than 30d");
    const olderThanMs = duration('--older-than', olderThan);
    const states = list(v.state) as ExecutionState[] | undefined;
    for (const state of states ?? []) {
      if (!(FINAL_STATES as readonly string[]).includes(state)) throw new CliUsageError(`--state: '${state}' is not a final state (use ${FINAL_STATES.join(', ')})`);
    }
    const batchSize = integer('--batch-size', v['batch-size'] as string | undefined, 1, 10_000);
    const dryRun = v['dry-run'] === true;
    const executor = await ctx.executor();
    if (!dryRun) await ctx.confirm(`Remove ${states ? states.join('/') : 'finished'} executions that finished more than ${span(olderThanMs)} ago, with their children and journals`);
    const report = await executor.cleanup({ olderThan: olderThanMs, states, dryRun, batchSize });
    if (ctx.parsed.global.json) return ctx.json(report);
    ctx.print([
      dryRun ? 'Dry run: nothing removed. Would remove:' : 'Removed:',
      ...fields(ctx.term, [
        ['Executions', `${report.executions} (finished before ${when(report.finishedBefore)} UTC, children included)`],
        ['Steps', String(report.steps)],
        ['Signals', String(report.signals)],
        ['Dead letters', String(report.deadLetters)],
        ['Cache rows', `${report.cacheRows} (expired)`],
        ['Worker rows', `${report.workers} (silent longer than ${span(olderThanMs)})`],
        ['Key rows', `${report.keyRows} (debounce, singleton and flow keys no longer in use)`],
      ]).map((line) => `  ${line}`),
      ...(report.skipped ? [`Kept ${report.skipped} execution tree(s) with a child still running.`] : []),
    ]);
  },
};
