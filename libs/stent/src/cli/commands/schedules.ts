import { required } from '../arguments.js';
import type { Command, CommandContext } from '../command.js';
import { CliUsageError } from '../cli-usage.error.js';
import { fields, inline, screenTable, when } from '../format.js';
import { paint } from '../terminal.js';
import type { ScheduleInfo } from '../../core/schedules/schedule-view.js';

const catchUpText = (schedule: ScheduleInfo) => (schedule.catchUp === 'skip' ? 'skip' : `latest ${schedule.catchUp}`);

export const schedulesListCommand: Command = {
  words: ['schedules', 'list'],
  summary: 'List schedules (cron workflows): expression, zone, state, next and last tick',
  async run(ctx) {
    const schedules = await (await ctx.executor()).schedules.list();
    if (ctx.parsed.global.json) return ctx.json({ items: schedules });
    if (schedules.length === 0) return ctx.print('No schedules.');
    const rows = schedules.map((s) => [s.name, s.workflowName, s.cron, s.timezone, s.state === 'paused' ? paint(ctx.term, 'yellow', 'paused') : 'active', when(s.nextTickAt), when(s.lastTickAt), catchUpText(s), s.overlap]);
    ctx.print(screenTable(ctx.term, ['NAME', 'WORKFLOW', 'CRON', 'TIMEZONE', 'STATE', 'NEXT TICK', 'LAST TICK', 'CATCH-UP', 'OVERLAP'], rows, `${schedules.length} schedule(s)`));
  },
};

export const schedulesShowCommand: Command = {
  words: ['schedules', 'show'],
  args: '<name>',
  summary: 'One schedule with its arguments, policies and last run',
  maxArgs: 1,
  async run(ctx) {
    const s = await (await ctx.executor()).schedules.get(required(ctx.parsed, 0, 'name'));
    if (ctx.parsed.global.json) return ctx.json(s);
    ctx.print(
      fields(ctx.term, [
        ['Schedule', paint(ctx.term, 'bold', s.name)],
        ['Workflow', `${s.workflowName} (queue ${s.queue})`],
        ['Cron', `${s.cron} in ${s.timezone}`],
        ['State', s.state],
        ['Arguments', inline(s.args)],
        ['Catch-up', catchUpText(s)],
        ['Overlap', s.overlap],
        ['Next tick', when(s.nextTickAt)],
        ['Last tick', when(s.lastTickAt)],
        ['Last run', s.lastExecutionId ?? '-'],
        ['Declared', s.source === 'decorator' ? 'in code (@Workflow)' : 'at run time'],
      ]),
    );
  },
};

/** A command that changes one schedule after asking. */
function change<T>(word: string, summary: string, question: string, act: (ctx: CommandContext, name: string) => Promise<T>, done: (name: string, outcome: T) => string): Command {
  return {
    words: ['schedules', word],
    args: '<name>',
    summary,
    maxArgs: 1,
    async run(ctx) {
      const name = required(ctx.parsed, 0, 'name');
      await (await ctx.executor()).schedules.get(name);
      await ctx.confirm(`${question} schedule '${name}'`);
      const outcome = await act(ctx, name);
      if (ctx.parsed.global.json) return ctx.json(outcome ?? { name, deleted: true });
      ctx.print(done(name, outcome));
    },
  };
}

export const schedulesPauseCommand = change(
  'pause',
  'Pause a schedule: ticks that pass while paused do not run',
  'Pause',
  async (ctx, name) => (await ctx.executor()).schedules.pause(name),
  (name) => `Paused '${name}'.`,
);

export const schedulesResumeCommand = change(
  'resume',
  'Resume a schedule from its next tick',
  'Resume',
  async (ctx, name) => (await ctx.executor()).schedules.resume(name),
  (name, s) => `Resumed '${name}'; next tick ${when(s.nextTickAt)}.`,
);

export const schedulesTriggerCommand = change(
  'trigger',
  "Start one run of a schedule's workflow now",
  'Start a run of',
  async (ctx, name) => ({ name, ...(await (await ctx.executor()).schedules.trigger(name)) }),
  (name, outcome) => `Started execution ${outcome.executionId} of '${name}'.`,
);

export const schedulesDeleteCommand = change(
  'delete',
  'Delete a schedule (the runs it started stay)',
  'Delete',
  async (ctx, name) => {
    await (await ctx.executor()).schedules.delete(name);
    return undefined;
  },
  (name) => `Deleted '${name}'.`,
);

export const schedulesBackfillCommand: Command = {
  words: ['schedules', 'backfill'],
  args: '<name>',
  summary: 'Start the runs of past ticks that have none (such as those passed while paused)',
  maxArgs: 1,
  options: { from: { type: 'string' }, to: { type: 'string' } },
  optionHelp: [
    ['--from <time>', 'first tick considered (ISO 8601, inclusive; required)'],
    ['--to <time>', 'last tick considered (inclusive; default now)'],
  ],
  async run(ctx) {
    const name = required(ctx.parsed, 0, 'name');
    const from = ctx.parsed.values.from as string | undefined;
    const to = ctx.parsed.values.to as string | undefined;
    if (from === undefined) throw new CliUsageError('schedules backfill needs --from <time>');
    const executor = await ctx.executor();
    await executor.schedules.get(name);
    await ctx.confirm(`Start the missing runs of schedule '${name}' from ${from} to ${to ?? 'now'}`);
    const report = await executor.schedules.backfill(name, to === undefined ? { from } : { from, to });
    if (ctx.parsed.global.json) return ctx.json({ name, ...report });
    const had = report.ticks - report.created.length - report.removed;
    const removed = report.removed > 0 ? `, ${report.removed} at or before the last tick whose run retention removed` : '';
    ctx.print(`${report.ticks} tick(s) in the range; started ${report.created.length} run(s)${had > 0 ? `, ${had} had one already` : ''}${removed}.`);
  },
};
