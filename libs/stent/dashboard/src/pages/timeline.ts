/**
 * An execution's journal as a timeline: each step a bar from scheduled (waiting, light) to started to finished
 * (running, solid); sleeps and signal waits drawn as waits; retries and failures marked; children linked.
 */
import { h, link } from '../dom.js';
import { duration, errorBlock, errorLine, json } from '../format.js';
import { dataTable } from '../table.js';
import type { ExecutionDetailView, JournalEntryView } from '../views.js';

const ms = (iso: string | null | undefined) => (iso ? new Date(iso).getTime() : null);
const WAIT_KINDS = new Set(['sleep', 'signal', 'child']);

/** The child execution a 'child' step started: its id is `<parent>.<position>.<suffix>`. */
function childOf(step: JournalEntryView, detail: ExecutionDetailView): string | null {
  if (step.kind !== 'child') return null;
  const prefix = `${detail.id}.${step.position}.`;
  return detail.children.find((child) => child.id.startsWith(prefix))?.id ?? null;
}

export function timeline(detail: ExecutionDetailView, steps: JournalEntryView[], now = Date.now()): HTMLElement {
  const start = Math.min(ms(detail.createdAt)!, ...steps.map((step) => ms(step.createdAt)!));
  const ends = steps.flatMap((step) => [ms(step.finishedAt), ms(step.startedAt), ms(step.fireAt)].filter((value): value is number => value !== null));
  const end = Math.max(ms(detail.finishedAt) ?? now, ...ends, start + 1);
  const span = end - start;
  const at = (time: number) => `${(((time - start) / span) * 100).toFixed(3)}%`;
  const width = (from: number, to: number) => `${Math.max(0.4, ((to - from) / span) * 100).toFixed(3)}%`;
  // Positions go through the CSSOM: the page's CSP refuses inline style attributes.
  const bar = (className: string, from: number, to: number | null) => {
    const element = h('span', { class: className });
    element.style.left = at(from);
    if (to !== null) element.style.width = width(from, to);
    return element;
  };

  const bars = (step: JournalEntryView): HTMLElement => {
    const created = ms(step.createdAt)!;
    const started = ms(step.startedAt);
    const finished = ms(step.finishedAt);
    const open = finished ?? (detail.finishedAt ? ms(detail.finishedAt)! : now);
    const pieces: HTMLElement[] = [];
    let description: string;
    if (WAIT_KINDS.has(step.kind)) {
      const until = step.kind === 'sleep' && ms(step.fireAt) !== null && finished === null ? Math.max(open, ms(step.fireAt)!) : open;
      pieces.push(bar(`seg wait wait-${step.kind}`, created, until));
      const what = step.kind === 'sleep' ? 'slept' : step.kind === 'signal' ? 'waited for the signal' : 'waited for the child';
      description = `${what} ${duration((finished ?? open) - created)}${finished === null ? ' so far' : ''}${step.kind === 'sleep' && step.fireAt ? `, wakes ${new Date(step.fireAt).toLocaleTimeString()}` : ''}`;
    } else if (step.kind === 'value') {
      pieces.push(bar('mark value-mark', created, null));
      description = `recorded at ${new Date(created).toLocaleTimeString()}`;
    } else {
      const runFrom = started ?? open;
      pieces.push(bar('seg queued', created, runFrom));
      if (started !== null) pieces.push(bar(`seg run run-${step.state}`, started, open));
      description = `scheduled → started ${started === null ? 'not yet' : duration(started - created)}, ran ${started === null ? '—' : duration(open - started)}${finished === null ? ' so far' : ''}`;
    }
    if (step.attempts > 1) {
      const mark = bar('retry-mark', started ?? created, null);
      mark.setAttribute('aria-hidden', 'true');
      mark.textContent = `↻${step.attempts}`;
      pieces.push(mark);
    }
    return h('div', { class: 'track', title: description }, pieces, h('span', { class: 'sr-only' }, description));
  };

  return h(
    'div',
    { class: 'timeline' },
    h('p', { class: 'timeline-scale', 'aria-hidden': 'true' }, h('span', {}, new Date(start).toLocaleTimeString()), h('span', {}, `${duration(span)}`), h('span', {}, new Date(end).toLocaleTimeString())),
    dataTable({
      caption: `Journal: ${steps.length} step${steps.length === 1 ? '' : 's'} from scheduled to finished`,
      items: steps,
      empty: 'No step recorded yet.',
      rowClass: (step) => `step step-${step.kind} step-state-${step.state}${step.attempts > 1 ? ' step-retried' : ''}`,
      columns: [
        { header: '#', cell: (step) => String(step.position), class: 'num' },
        {
          header: 'Step',
          cell: (step) => {
            const child = childOf(step, detail);
            return h(
              'div',
              { class: 'step-name' },
              h('span', { class: `kind kind-${step.kind}` }, step.kind),
              ' ',
              child ? link(`/executions/${encodeURIComponent(child)}`, step.name) : h('span', {}, step.name),
              step.error ? h('details', { class: 'step-error' }, h('summary', {}, errorLine(step.error)), errorBlock(step.error)) : null,
              step.args !== undefined && step.args !== null ? h('details', { class: 'step-io' }, h('summary', {}, 'Arguments and result'), h('pre', { class: 'json' }, `args: ${json(step.args)}\nresult: ${json(step.result)}`)) : null,
            );
          },
        },
        { header: 'State', cell: (step) => h('span', { class: `badge step-badge step-state-${step.state}` }, step.state) },
        { header: 'Attempts', cell: (step) => (step.attempts > 1 ? h('span', { class: 'retried' }, `${step.attempts} (retried)`) : String(step.attempts)), class: 'num' },
        { header: 'Timeline', cell: bars, class: 'track-cell' },
      ],
    }),
  );
}
