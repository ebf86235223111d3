import type { StentStats } from '../../core/executor/execution-views.js';
import type { WorkerView } from '../../core/executor/operations/workers-view.js';
import { span, sparkline, table } from '../format.js';
import { paint, paintState, type Terminal } from '../terminal.js';

const ORDER = ['pending', 'running', 'completed', 'failed', 'cancelled', 'timed_out'] as const;

/** Counts by state on one line: `pending 3  running 2  completed 40 ...`. */
export function countsLine(term: Terminal, stats: StentStats): string {
  return ORDER.map((state) => `${paintState(term, state)} ${stats.executions[state] ?? 0}`).join('  ');
}

export function throughputLine(term: Terminal, stats: StentStats): string {
  const { throughput } = stats;
  const current = throughput.perMinute[throughput.perMinute.length - 1];
  const steps = throughput.perMinute.map((minute) => minute.stepsCompleted + minute.stepsFailed);
  return `${throughput.stepsPerMinute} steps/min, ${throughput.executionsPerMinute} executions/min over ${throughput.minutes} min; this minute ${current?.stepsCompleted ?? 0} steps done, ${current?.stepsFailed ?? 0} failed  ${paint(term, 'cyan', sparkline(term, steps))}`;
}

export function statsLines(term: Terminal, stats: StentStats): string[] {
  const lines = [
    paint(term, 'bold', 'Executions'),
    `  ${countsLine(term, stats)}`,
    paint(term, 'bold', 'Activities'),
    `  due ${stats.activities.due}  scheduled ${stats.activities.scheduled}  running ${stats.activities.running}  oldest due waits ${span(stats.backlogAgeMs)}`,
    paint(term, 'bold', 'Dead letters'),
    `  ${stats.deadLetters ? paint(term, 'red', String(stats.deadLetters)) : '0'}`,
    paint(term, 'bold', 'Throughput'),
    `  ${throughputLine(term, stats)}`,
  ];
  if (stats.queues.length) {
    lines.push(paint(term, 'bold', 'Queues'));
    lines.push(
      ...table(
        term,
        ['QUEUE', 'DUE', 'ACTIVITIES', 'EXECUTIONS', 'SCHEDULED', 'RUNNING', 'OLDEST DUE'],
        stats.queues.map((queue) => [queue.queue, String(queue.due), String(queue.dueActivities), String(queue.dueExecutions), String(queue.scheduledActivities), String(queue.runningActivities), span(queue.oldestDueAgeMs)]),
      ).map((line) => `  ${line}`),
    );
  }
  return lines;
}

export function workerRows(term: Terminal, workers: WorkerView[]): string[][] {
  return workers.map((worker) => [
    worker.id,
    paintState(term, worker.status),
    worker.state,
    worker.queues.join(','),
    worker.concurrency === null ? '-' : String(worker.concurrency),
    worker.workflows.length + worker.activities.length ? `${worker.workflows.length} workflow(s), ${worker.activities.length} activit${worker.activities.length === 1 ? 'y' : 'ies'}` : '-',
    `${span(worker.lastSeenMsAgo)} ago`,
  ]);
}

export const WORKER_HEADERS = ['WORKER', 'STATUS', 'STATE', 'QUEUES', 'SLOTS', 'SERVES', 'LAST SEEN'];
