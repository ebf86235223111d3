import type { ExecutionDetail } from '../../core/executor/operations/execution-detail.js';
import type { ExecutionInfo, JournalEntry } from '../../core/executor/execution-views.js';
import { fields, inline, progressFraction, progressText, span, table, when } from '../format.js';
import { paint, paintState, type Terminal } from '../terminal.js';

export const EXECUTION_HEADERS = ['ID', 'WORKFLOW', 'STATE', 'QUEUE', 'PROGRESS', 'CREATED', 'UPDATED'];

export function executionRows(term: Pick<Terminal, 'color' | 'interactive'>, items: ExecutionInfo[]): string[][] {
  return items.map((item) => [item.id, item.workflowName, paintState(term, item.state), item.queue, progressText(term, item.progress, 10), when(item.createdAt), when(item.updatedAt)]);
}

const errorLine = (error: Error | undefined | null) => (error ? `${error.name}: ${error.message}${(error as { code?: string }).code ? ` [${(error as { code?: string }).code}]` : ''}` : '-');

/** `show`: the execution's fields, its error (with stack), children, and its journal as a table. */
export function executionLines(term: Terminal, execution: ExecutionDetail, journal: JournalEntry[]): string[] {
  const lines = fields(term, [
    ['Execution', paint(term, 'bold', execution.id)],
    ['Workflow', execution.workflowName],
    ['State', paintState(term, execution.state)],
    ['Queue', `${execution.queue} (priority ${execution.priority})`],
    ['Tags', execution.tags.length ? execution.tags.join(', ') : '-'],
    ['Arguments', inline(execution.args)],
    // A bar when the value says how far along it is, with the value itself when it says more than a number.
    ['Progress', progressText(term, execution.progress) + (typeof execution.progress === 'object' && progressFraction(execution.progress) !== null ? `  ${inline(execution.progress)}` : '')],
    ['Counters', Object.keys(execution.counters).length ? Object.entries(execution.counters).map(([name, n]) => `${name}=${n}`).join(', ') : '-'],
    ['State values', Object.keys(execution.customState).length ? inline(execution.customState) : '-'],
    ['Result', execution.state === 'completed' ? inline(execution.output) : '-'],
    ['Error', errorLine(execution.error)],
    ['Parent', execution.parent ? `${execution.parent.id} (${execution.parent.workflowName}, ${paintState(term, execution.parent.state)})` : '-'],
    ['Children', execution.childCount ? `${execution.childCount} (${Object.entries(execution.childStates).map(([state, n]) => `${n} ${state}`).join(', ')})` : '-'],
    ['Created', when(execution.createdAt)],
    ['Started', when(execution.startedAt)],
    ['Finished', when(execution.finishedAt)],
    ['Timings', `queued ${span(execution.timings.queuedMs)}, ran ${span(execution.timings.runMs)}, total ${span(execution.timings.totalMs)}`],
    ['Attempts', `${execution.attempts.steps} step(s), ${execution.attempts.stepAttempts} attempt(s), ${execution.attempts.failedSteps} failed, ${execution.attempts.recoveries} recover${execution.attempts.recoveries === 1 ? 'y' : 'ies'}`],
    ['Worker', execution.leaseOwner ?? '-'],
    ...historyFields(execution),
  ]);
  if (execution.error?.stack) lines.push('', paint(term, 'dim', 'Stack:'), ...execution.error.stack.split('\n').slice(1, 8).map((line) => paint(term, 'dim', line)));
  if (execution.children.length) {
    lines.push('', paint(term, 'bold', 'Children'));
    lines.push(...table(term, ['ID', 'WORKFLOW', 'STATE', 'FINISHED'], execution.children.map((child) => [child.id, child.workflowName, paintState(term, child.state), when(child.finishedAt)])));
  }
  lines.push('', paint(term, 'bold', `Journal (${journal.length} step${journal.length === 1 ? '' : 's'})`));
  if (journal.length === 0) lines.push('(empty)');
  else
    lines.push(
      ...table(
        term,
        ['#', 'KIND', 'NAME', 'STATE', 'ATTEMPTS', 'STARTED', 'TOOK', 'ERROR'],
        journal.map((step) => [
          String(step.position),
          step.kind,
          step.name,
          paintState(term, step.state),
          String(step.attempts),
          when(step.startedAt),
          step.startedAt && step.finishedAt ? span(step.finishedAt.getTime() - step.startedAt.getTime()) : '-',
          step.error ? errorLine(step.error) : '',
        ]),
        term.interactive ? term.columns : undefined,
      ),
    );
  return lines;
}

/** Where the execution came from and went, shown only when it has any of it. */
function historyFields(execution: ExecutionDetail): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  if (execution.version !== null) rows.push(['Version', String(execution.version)]);
  if (execution.continuedFrom) rows.push(['Continued from', execution.continuedFrom]);
  if (execution.continuedAs) rows.push(['Continued as', execution.continuedAs]);
  if (execution.forkedFrom) rows.push([execution.forkedFrom === execution.id ? 'Rewound to' : 'Forked from', execution.forkedFrom === execution.id ? `position ${execution.forkedAt}` : `${execution.forkedFrom} at position ${execution.forkedAt}`]);
  return rows;
}
