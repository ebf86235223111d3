import { duration, integer } from '../arguments.js';
import type { Command } from '../command.js';
import { screenTable } from '../format.js';
import { statsLines, workerRows, WORKER_HEADERS } from '../views/overview-view.js';

export const statsCommand: Command = {
  words: ['stats'],
  summary: 'Counts by state, backlog per queue, dead letters, throughput per minute',
  options: { minutes: { type: 'string', short: 'm' } },
  optionHelp: [['-m, --minutes <n>', 'minutes of throughput (default 15)']],
  async run(ctx) {
    const minutes = integer('--minutes', ctx.parsed.values.minutes as string | undefined, 1, 1440);
    const executor = await ctx.executor();
    const stats = await executor.stats(minutes === undefined ? {} : { throughputMinutes: minutes });
    // This process has no worker; what the database says about the others is what matters.
    const { thisWorker: _none, ...shared } = stats;
    if (ctx.parsed.global.json) return ctx.json(shared);
    ctx.print(statsLines(ctx.term, stats));
  },
};

export const workersCommand: Command = {
  words: ['workers'],
  summary: 'Worker processes: live ones and those stopped or lost recently',
  options: { recent: { type: 'string', short: 'r' } },
  optionHelp: [['-r, --recent <duration>', 'also those silent within this long (default 1h)']],
  async run(ctx) {
    const recent = (ctx.parsed.values.recent as string | undefined) ?? '1h';
    duration('--recent', recent);
    const executor = await ctx.executor();
    const workers = await executor.listWorkers({ recent });
    if (ctx.parsed.global.json) return ctx.json(workers);
    if (workers.length === 0) return ctx.print(`No workers heard from in the last ${recent}.`);
    ctx.print(screenTable(ctx.term, WORKER_HEADERS, workerRows(ctx.term, workers)));
  },
};
