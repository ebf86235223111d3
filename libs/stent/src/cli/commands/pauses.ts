import { required } from '../arguments.js';
import type { Command } from '../command.js';
import { table, when } from '../format.js';
import type { PauseKind } from '../../core/store/index.js';

export const pausedCommand: Command = {
  words: ['paused'],
  summary: 'List paused queues and workflow types',
  async run(ctx) {
    const items = await (await ctx.executor()).listPaused();
    if (ctx.parsed.global.json) return ctx.json({ items });
    if (items.length === 0) return ctx.print('Nothing is paused.');
    ctx.print(table(ctx.term, ['KIND', 'NAME', 'PAUSED AT'], items.map((item) => [item.kind, item.name, when(item.pausedAt)])));
  },
};

/** `stent pause queue <name>`, `stent resume workflow <name>`, ... */
function pauseCommand(verb: 'pause' | 'resume', kind: PauseKind): Command {
  const paused = verb === 'pause';
  return {
    words: [verb, kind],
    args: '<name>',
    summary:
      kind === 'queue'
        ? paused
          ? 'Pause a queue: no worker claims its work (running work finishes)'
          : 'Resume a paused queue'
        : paused
          ? 'Pause a workflow type: no worker starts or resumes its executions'
          : 'Resume a paused workflow type',
    maxArgs: 1,
    async run(ctx) {
      const name = required(ctx.parsed, 0, 'name');
      const executor = await ctx.executor();
      await ctx.confirm(`${paused ? 'Pause' : 'Resume'} ${kind} '${name}'`);
      const outcome = kind === 'queue' ? await (paused ? executor.pauseQueue(name) : executor.resumeQueue(name)) : await (paused ? executor.pauseWorkflow(name) : executor.resumeWorkflow(name));
      if (ctx.parsed.global.json) return ctx.json(outcome);
      ctx.print(outcome.changed ? `${paused ? 'Paused' : 'Resumed'} ${kind} '${name}'.` : `${kind} '${name}' was ${paused ? 'paused' : 'not paused'} already.`);
    },
  };
}

export const pauseQueueCommand = pauseCommand('pause', 'queue');
export const resumeQueueCommand = pauseCommand('resume', 'queue');
export const pauseWorkflowCommand = pauseCommand('pause', 'workflow');
export const resumeWorkflowCommand = pauseCommand('resume', 'workflow');
