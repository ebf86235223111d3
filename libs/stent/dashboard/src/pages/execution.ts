/** One execution: state, timings, args, result or error, journal timeline, progress and state, relatives, actions. */
import { api, READ_ONLY, seg } from '../api.js';
import { clear, h, link, fill } from '../dom.js';
import { field, openDialog } from '../dialog.js';
import { duration, errorBlock, jsonBlock, stateBadge, timeCell } from '../format.js';
import { heading, type PageContext } from '../page.js';
import { dataTable } from '../table.js';
import { timeline } from './timeline.js';
import { FINAL_STATES, type ExecutionDetailView, type JournalEntryView, type ListView } from '../views.js';

const REFRESH_MS = 3000;

export async function executionPage(context: PageContext): Promise<void> {
  const id = context.params[0]!;
  const load = () =>
    Promise.all([api.get<ExecutionDetailView>(`/executions/${seg(id)}`), api.get<ListView<JournalEntryView>>(`/executions/${seg(id)}/journal`)]);
  const [detail, journal] = await load();
  if (!context.current()) return;
  const content = h('div', { class: 'execution' });
  const draw = (detail: ExecutionDetailView, journal: ListView<JournalEntryView>) => {
    clear(content);
    content.append(...sections(detail, journal.items));
  };
  draw(detail, journal);
  fill(context.main, heading(`${detail.workflowName}`, ' ', stateBadge(detail.state)), h('p', { class: 'execution-id' }, 'Execution ', h('code', {}, detail.id)), actions(detail, context), content);
  if (!FINAL_STATES.includes(detail.state)) {
    // While it runs the page follows it; once final, one last full render updates the actions too.
    context.every(REFRESH_MS, async () => {
      const [next, steps] = await load();
      if (!context.current()) return;
      if (FINAL_STATES.includes(next.state)) context.reload();
      else if (!content.contains(document.activeElement) || document.activeElement === document.body) draw(next, steps);
    });
  }
}

function actions(detail: ExecutionDetailView, context: PageContext): HTMLElement | null {
  if (READ_ONLY) return null;
  const final = FINAL_STATES.includes(detail.state);
  const run = async (action: () => Promise<unknown>, done: string) => {
    try {
      await action();
      context.reload(done);
    } catch (error) {
      context.showError(error);
    }
  };
  const buttons: HTMLElement[] = [];
  if (!final) {
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          'data-focus-key': 'action-cancel',
          onclick: async () => {
            const confirmed = await openDialog({
              title: 'Cancel this execution?',
              body: [h('p', {}, 'Execution ', h('code', {}, detail.id), ` (${detail.workflowName}) and its child executions stop; running activities see their abort signal. This cannot be undone.`)],
              confirmLabel: 'Cancel execution',
              danger: true,
            });
            if (confirmed) await run(() => api.post(`/executions/${seg(detail.id)}/cancel`), 'Execution cancelled.');
          },
        },
        'Cancel…',
      ),
    );
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'data-focus-key': 'action-signal',
          onclick: async () => {
            const name = h('input', { type: 'text', required: true, autocomplete: 'off', name: 'signal-name' });
            const payload = h('textarea', { rows: 5, name: 'signal-payload', spellcheck: 'false' });
            payload.value = '{}';
            let parsed: unknown = null;
            const confirmed = await openDialog({
              title: 'Send a signal',
              body: [
                h('p', {}, 'To execution ', h('code', {}, detail.id), '. A workflow waiting for this name resumes with the payload.'),
                field('Signal name', name),
                field('Payload (JSON)', payload, 'Any JSON value: an object, a string in quotes, a number, null.'),
              ],
              confirmLabel: 'Send signal',
              validate: () => {
                if (!name.value.trim()) return 'Give the signal a name.';
                try {
                  parsed = payload.value.trim() === '' ? null : JSON.parse(payload.value);
                } catch (error) {
                  return `The payload is not valid JSON: ${(error as Error).message}`;
                }
                return null;
              },
            });
            if (confirmed) await run(() => api.post(`/executions/${seg(detail.id)}/signals`, { name: name.value.trim(), payload: parsed }), `Signal '${name.value.trim()}' sent.`);
          },
        },
        'Send signal…',
      ),
    );
  }
  if (detail.state === 'failed') {
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          'data-focus-key': 'action-retry',
          onclick: async () => {
            const confirmed = await openDialog({
              title: 'Retry this execution?',
              body: [h('p', {}, 'The step whose failure ended it runs again (or the workflow is replayed from its journal); completed steps are not repeated.')],
              confirmLabel: 'Retry execution',
            });
            if (confirmed) await run(() => api.post(`/executions/${seg(detail.id)}/retry`), 'Execution retried.');
          },
        },
        'Retry / resume…',
      ),
    );
  }
  if (buttons.length === 0) return null;
  return h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' }, buttons);
}

/** Its workflow version, the executions of its continue-as-new chain, and what a fork or rewind started it from. */
function historyFacts(detail: ExecutionDetailView): Array<[string, Node | string]> {
  const executionLink = (id: string) => link(`/executions/${encodeURIComponent(id)}`, h('code', {}, id));
  const facts: Array<[string, Node | string]> = [];
  if (detail.version !== null) facts.push(['Version', String(detail.version)]);
  if (detail.continuedFrom) facts.push(['Continued from', executionLink(detail.continuedFrom)]);
  if (detail.continuedAs) facts.push(['Continued as', executionLink(detail.continuedAs)]);
  if (detail.forkedFrom === detail.id) facts.push(['Rewound to', `position ${detail.forkedAt}`]);
  else if (detail.forkedFrom) facts.push(['Forked from', h('span', {}, executionLink(detail.forkedFrom), ` at position ${detail.forkedAt}`)]);
  return facts;
}

function sections(detail: ExecutionDetailView, steps: JournalEntryView[]): HTMLElement[] {
  const facts: Array<[string, Node | string]> = [
    ['State', stateBadge(detail.state)],
    ['Queue', detail.queue],
    ['Priority', String(detail.priority)],
    ['Tags', detail.tags.join(', ') || '—'],
    ['Created', timeCell(detail.createdAt)],
    ['Started', timeCell(detail.startedAt)],
    ['Finished', timeCell(detail.finishedAt)],
    ['Updated', timeCell(detail.updatedAt)],
    ['Waited in queue', duration(detail.timings.queuedMs)],
    ['Ran for', duration(detail.timings.runMs)],
    ['Total', duration(detail.timings.totalMs)],
    ['Steps', `${detail.attempts.steps} (${Object.entries(detail.attempts.stepsByKind).map(([kind, count]) => `${count} ${kind}`).join(', ') || 'none'})`],
    ['Step attempts', String(detail.attempts.stepAttempts)],
    ['Failed steps', String(detail.attempts.failedSteps)],
    ['Recoveries', String(detail.recoveries)],
  ];
  if (detail.deadlineAt) facts.push(['Deadline', timeCell(detail.deadlineAt)]);
  if (detail.wakeAt) facts.push(['Wakes', timeCell(detail.wakeAt)]);
  if (detail.leaseOwner) facts.push(['Run by', detail.leaseOwner]);
  if (detail.idempotencyKey) facts.push(['Idempotency key', detail.idempotencyKey]);
  facts.push(...historyFacts(detail));

  const out: HTMLElement[] = [
    h('section', { 'aria-labelledby': 'execution-facts' }, h('h2', { id: 'execution-facts' }, 'Summary'), h('dl', { class: 'facts' }, facts.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]))),
  ];

  const outcome: HTMLElement[] = [h('h3', {}, 'Arguments'), jsonBlock('Arguments', detail.args)];
  if (detail.state === 'completed') outcome.push(h('h3', {}, 'Result'), jsonBlock('Result', detail.output));
  if (detail.error) outcome.push(h('h3', {}, 'Error'), errorBlock(detail.error));
  out.push(h('section', { 'aria-labelledby': 'execution-io' }, h('h2', { id: 'execution-io' }, 'Input and outcome'), outcome));

  const hasProgress = detail.progress !== null && detail.progress !== undefined;
  const hasCounters = Object.keys(detail.counters).length > 0;
  const hasState = Object.keys(detail.customState).length > 0;
  out.push(
    h(
      'section',
      { 'aria-labelledby': 'execution-progress' },
      h('h2', { id: 'execution-progress' }, 'Progress, counters and state'),
      hasProgress || hasCounters || hasState
        ? h(
            'div',
            { class: 'progress-grid' },
            hasProgress ? h('div', {}, h('h3', {}, 'Progress'), progressView(detail.progress)) : null,
            hasCounters
              ? h('div', {}, h('h3', {}, 'Counters'), h('dl', { class: 'facts counters' }, Object.entries(detail.counters).map(([name, value]) => [h('dt', {}, name), h('dd', {}, String(value))])))
              : null,
            hasState ? h('div', {}, h('h3', {}, 'Custom state'), jsonBlock('Custom state', detail.customState)) : null,
          )
        : h('p', { class: 'muted' }, 'The workflow has set no progress, counters or state.'),
    ),
  );

  out.push(h('section', { 'aria-labelledby': 'execution-journal' }, h('h2', { id: 'execution-journal' }, 'Journal timeline'), timeline(detail, steps)));

  const relatives: HTMLElement[] = [];
  if (detail.parent) {
    relatives.push(h('p', {}, 'Parent: ', link(`/executions/${encodeURIComponent(detail.parent.id)}`, h('code', {}, detail.parent.id)), ` (${detail.parent.workflowName}) `, stateBadge(detail.parent.state)));
  }
  if (detail.childCount > 0) {
    const states = Object.entries(detail.childStates).map(([state, count]) => `${count} ${state.replace('_', ' ')}`).join(', ');
    relatives.push(
      dataTable({
        caption: `${detail.childCount} child execution${detail.childCount === 1 ? '' : 's'} (${states})${detail.childCount > detail.children.length ? `, the first ${detail.children.length} listed` : ''}`,
        items: detail.children,
        empty: 'No child execution.',
        columns: [
          { header: 'Id', cell: (child) => link(`/executions/${encodeURIComponent(child.id)}`, h('code', {}, child.id)) },
          { header: 'Workflow', cell: (child) => child.workflowName },
          { header: 'State', cell: (child) => stateBadge(child.state) },
          { header: 'Created', cell: (child) => timeCell(child.createdAt) },
        ],
      }),
    );
    if (detail.childCount > detail.children.length) relatives.push(link(`/executions?parent=${encodeURIComponent(detail.id)}`, 'All children'));
  }
  out.push(
    h('section', { 'aria-labelledby': 'execution-relatives' }, h('h2', { id: 'execution-relatives' }, 'Parent and children'), relatives.length ? relatives : h('p', { class: 'muted' }, 'No parent and no children.')),
  );
  return out;
}

/** A number 0..1 or {done,total}-like progress as a bar; anything else as JSON. */
function progressView(progress: unknown): HTMLElement {
  let ratio: number | null = null;
  if (typeof progress === 'number' && progress >= 0 && progress <= 1) ratio = progress;
  else if (progress && typeof progress === 'object') {
    const value = progress as Record<string, unknown>;
    const done = [value.done, value.completed, value.current, value.processed].find((item) => typeof item === 'number') as number | undefined;
    const total = value.total;
    if (typeof done === 'number' && typeof total === 'number' && total > 0) ratio = Math.min(1, done / total);
  }
  return h('div', {}, ratio === null ? null : h('progress', { max: 100, value: Math.round(ratio * 100), 'aria-label': `Progress ${Math.round(ratio * 100)}%` }), jsonBlock('Progress', progress));
}
