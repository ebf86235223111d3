import type { StentExecutor } from '../../core/executor/executor.js';
import { toJsonView } from '../../core/json-view.js';
import { duration, integer } from '../arguments.js';
import type { Command } from '../command.js';
import { fit, progressText, span, table, when } from '../format.js';
import { paint, type Terminal } from '../terminal.js';
import { countsLine, throughputLine } from '../views/overview-view.js';

/** One frame of the dashboard, as data (what --json prints) and as lines sized to the terminal. */
async function snapshot(executor: StentExecutor) {
  const [stats, running, failures, deadLetters] = [
    await executor.stats({ throughputMinutes: 15 }),
    await executor.listExecutions({ state: 'running' }, { limit: 200 }),
    await executor.listExecutions({ state: ['failed', 'timed_out'] }, { limit: 5 }),
    await executor.listDeadLetters({ limit: 5 }),
  ];
  const { thisWorker: _none, ...shared } = stats;
  return { at: new Date(), stats: shared, running, failures, deadLetters };
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

function frameLines(term: Terminal, snap: Snapshot, intervalMs: number): string[] {
  const width = term.interactive ? term.columns : 120;
  const height = term.interactive ? term.rows : Number.MAX_SAFE_INTEGER;
  const section = (title: string) => paint(term, 'bold', title);
  const { stats } = snap;
  const head = [
    `${paint(term, 'bold', 'Stent')}  ${when(snap.at)} UTC  every ${span(intervalMs)}${term.interactive ? '  (Ctrl+C to quit)' : ''}`,
    `${section('Executions')}  ${countsLine(term, stats as never)}`,
    `${section('Activities')}  due ${stats.activities.due}  scheduled ${stats.activities.scheduled}  running ${stats.activities.running}  oldest due ${span(stats.backlogAgeMs)}   ${section('Dead letters')} ${stats.deadLetters ? paint(term, 'red', String(stats.deadLetters)) : '0'}`,
    `${section('Throughput')}  ${throughputLine(term, stats as never)}`,
  ];
  const failureRows = snap.failures.items.map((item) => [item.id, item.workflowName, when(item.finishedAt), item.result && !item.result.ok ? String((item.result.error as Error)?.message ?? item.result.error) : '-']);
  const letterRows = snap.deadLetters.items.map((item) => [item.id, item.executionId, item.name, item.error ? item.error.message : item.reason]);
  // What is left after the fixed parts goes to running executions; failures and dead letters get up to 5 rows each.
  const tail: string[] = [];
  tail.push('', section(`Recent failures (${stats.executions.failed + stats.executions.timed_out})`));
  tail.push(...(failureRows.length ? table(term, ['ID', 'WORKFLOW', 'FINISHED', 'ERROR'], failureRows, width) : ['  none']));
  tail.push('', section(`Dead letters (${stats.deadLetters})`));
  tail.push(...(letterRows.length ? table(term, ['ID', 'EXECUTION', 'NAME', 'ERROR'], letterRows, width) : ['  none']));
  const room = Math.max(1, height - head.length - tail.length - 3);
  const running = snap.running.items;
  const shown = running.slice(0, room);
  const now = snap.at.getTime();
  const barWidth = Math.max(10, Math.min(30, width - 90));
  const runningLines = shown.length
    ? table(term, ['ID', 'WORKFLOW', 'PROGRESS', 'RUNNING FOR'], shown.map((item) => [item.id, item.workflowName, progressText(term, item.progress, barWidth), span(now - (item.startedAt ?? item.createdAt).getTime())]), width)
    : ['  none'];
  const more = snap.running.total - shown.length;
  const lines = [...head, '', section(`Running (${snap.running.total})`), ...runningLines, ...(more > 0 ? [paint(term, 'dim', `  … ${more} more`)] : []), ...tail];
  return term.interactive ? lines.slice(0, height - 1).map((line) => fit(line, width)) : lines;
}

export const watchCommand: Command = {
  words: ['watch'],
  summary: 'Live dashboard: counts, throughput, running executions with progress, failures, dead letters',
  options: { interval: { type: 'string', short: 'i' }, frames: { type: 'string' } },
  optionHelp: [
    ['-i, --interval <duration>', 'time between frames (default 2s)'],
    ['--frames <n>', 'stop after n frames (default: until Ctrl+C)'],
  ],
  async run(ctx) {
    const intervalMs = duration('--interval', (ctx.parsed.values.interval as string | undefined) ?? '2s');
    const frames = integer('--frames', ctx.parsed.values.frames as string | undefined, 1, Number.MAX_SAFE_INTEGER);
    const executor = await ctx.executor();
    const { term } = ctx;
    const live = term.interactive && !ctx.parsed.global.json;
    let stopped = false;
    let wake: () => void = () => undefined;
    const stop = () => {
      stopped = true;
      wake();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // Redrawn in place on the alternate screen; the terminal is given back as it was on the way out.
    if (live) term.out.write('\u001b[?1049h\u001b[?25l\u001b[2J');
    try {
      for (let frame = 1; !stopped; frame++) {
        const snap = await snapshot(executor);
        if (stopped) break;
        if (ctx.parsed.global.json) term.out.write(JSON.stringify(toJsonView(snap)) + '\n');
        else {
          if (live) {
            term.columns = term.out.columns || term.columns;
            term.rows = term.out.rows || term.rows;
          }
          const lines = frameLines(term, snap, intervalMs);
          term.out.write(live ? `\u001b[H${lines.map((line) => `${line}\u001b[K`).join('\n')}\u001b[J` : `${lines.join('\n')}\n\n`);
        }
        if (frames !== undefined && frame >= frames) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, intervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (live) term.out.write('\u001b[?25h\u001b[?1049l');
    }
  },
};
