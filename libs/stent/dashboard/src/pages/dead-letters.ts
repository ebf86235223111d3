/** Dead letters: the list (replay or discard one, the selected ones, or all) and one dead letter in detail. */
import { api, READ_ONLY, seg } from '../api.js';
import { h, link, fill } from '../dom.js';
import { openDialog } from '../dialog.js';
import { errorBlock, errorLine, jsonBlock, plural, stateBadge, timeCell } from '../format.js';
import { describeError, heading, pager, type PageContext } from '../page.js';
import { dataTable } from '../table.js';
import type { BulkReplayView, DeadLetterView, ListView } from '../views.js';

const LIMIT = 25;

/** Discards one by one (the API discards by id); reports each failure. */
async function discardAll(ids: string[]): Promise<{ discarded: number; failures: string[] }> {
  let discarded = 0;
  const failures: string[] = [];
  for (const id of ids) {
    try {
      await api.delete(`/dead-letters/${seg(id)}`);
      discarded += 1;
    } catch (error) {
      failures.push(`${id}: ${describeError(error)}`);
    }
  }
  return { discarded, failures };
}

function replayReport(outcome: BulkReplayView): { notice: string; failures: string[] } {
  return {
    notice: `Replayed ${plural(outcome.replayed.length, 'dead letter')}.`,
    failures: outcome.failed.map((failure) => `${failure.id}: ${failure.error.code ?? ''} ${failure.error.message ?? ''}`.trim()),
  };
}

export async function deadLettersPage(context: PageContext): Promise<void> {
  const offset = Math.max(0, Number(context.query.get('offset')) || 0);
  const list = await api.get<ListView<DeadLetterView>>('/dead-letters', { limit: LIMIT, offset });
  if (!context.current()) return;
  const selected = new Set<string>();
  const count = h('span', { class: 'selection-count', 'aria-live': 'polite' }, 'None selected');
  const bulkButtons: HTMLButtonElement[] = [];
  const refreshSelection = () => {
    count.textContent = selected.size ? `${selected.size} selected` : 'None selected';
    for (const button of bulkButtons) button.disabled = selected.size === 0;
    selectAll.checked = selected.size > 0 && selected.size === list.items.length;
    selectAll.indeterminate = selected.size > 0 && selected.size < list.items.length;
  };
  const finish = (notice: string, failures: string[]) => {
    if (failures.length) context.showError(new Error(`${notice} ${plural(failures.length, 'failure')}: ${failures.join('; ')}`));
    else context.reload(notice);
  };

  const selectAll = h('input', {
    type: 'checkbox',
    'aria-label': 'Select all dead letters on this page',
    onchange: () => {
      for (const item of list.items) (selectAll.checked ? selected.add(item.id) : selected.delete(item.id));
      for (const box of context.main.querySelectorAll<HTMLInputElement>('input[data-letter]')) box.checked = selectAll.checked;
      refreshSelection();
    },
  });

  const replaySelected = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      disabled: true,
      onclick: async () => {
        const ids = [...selected];
        if (!(await openDialog({ title: `Replay ${plural(ids.length, 'dead letter')}?`, body: [h('p', {}, 'Each task runs again with fresh attempts; its execution resumes.')], confirmLabel: 'Replay' }))) return;
        try {
          const { notice, failures } = replayReport(await api.post<BulkReplayView>('/dead-letters/replay', { ids }));
          finish(notice, failures);
        } catch (error) {
          context.showError(error);
        }
      },
    },
    'Replay selected…',
  );
  const discardSelected = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      disabled: true,
      onclick: async () => {
        const ids = [...selected];
        if (!(await openDialog({ title: `Discard ${plural(ids.length, 'dead letter')}?`, body: [h('p', {}, 'They are deleted; their executions stay failed. This cannot be undone.')], confirmLabel: 'Discard', danger: true }))) return;
        const { discarded, failures } = await discardAll(ids);
        finish(`Discarded ${plural(discarded, 'dead letter')}.`, failures);
      },
    },
    'Discard selected…',
  );
  bulkButtons.push(replaySelected, discardSelected);
  const replayEverything = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      disabled: list.total === 0,
      onclick: async () => {
        if (!(await openDialog({ title: `Replay all ${plural(list.total, 'dead letter')}?`, body: [h('p', {}, 'Every dead letter, on every page, runs again.')], confirmLabel: 'Replay all' }))) return;
        try {
          const { notice, failures } = replayReport(await api.post<BulkReplayView>('/dead-letters/replay', { all: true }));
          finish(notice, failures);
        } catch (error) {
          context.showError(error);
        }
      },
    },
    'Replay all…',
  );

  const columns = [
    ...(READ_ONLY
      ? []
      : [
          {
            header: 'Select',
            class: 'select',
            cell: (item: DeadLetterView) =>
              h('input', {
                type: 'checkbox',
                'data-letter': item.id,
                'aria-label': `Select dead letter ${item.id}`,
                onchange: (event: Event) => {
                  if ((event.target as HTMLInputElement).checked) selected.add(item.id);
                  else selected.delete(item.id);
                  refreshSelection();
                },
              }),
          },
        ]),
    { header: 'Dead letter', cell: (item: DeadLetterView) => link(`/dead-letters/${encodeURIComponent(item.id)}`, h('code', {}, item.id)) },
    { header: 'Task', cell: (item: DeadLetterView) => `${item.kind} ${item.name}` },
    { header: 'Execution', cell: (item: DeadLetterView) => h('span', {}, link(`/executions/${encodeURIComponent(item.executionId)}`, h('code', {}, item.executionId)), item.workflowName ? ` ${item.workflowName}` : '') },
    { header: 'Attempts', cell: (item: DeadLetterView) => String(item.attempts), class: 'num' },
    { header: 'Error', cell: (item: DeadLetterView) => h('span', { class: 'error-text' }, errorLine(item.error) || item.reason) },
    { header: 'Failed', cell: (item: DeadLetterView) => timeCell(item.createdAt) },
  ];

  fill(context.main, 
    heading('Dead letters'),
    READ_ONLY ? null : h('div', { class: 'actions toolbar', role: 'group', 'aria-label': 'Dead-letter actions' }, h('label', { class: 'select-all' }, selectAll, ' All on this page'), count, replaySelected, discardSelected, replayEverything),
    dataTable({ caption: `${plural(list.total, 'task')} that failed for good, newest first`, columns, items: list.items, empty: 'No dead letters. Everything that failed was retried successfully or is still retrying.' }),
    pager(list.total, list.offset, list.limit, (next) => {
      location.hash = `/dead-letters${next ? `?offset=${next}` : ''}`;
    }),
  );
}

export async function deadLetterPage(context: PageContext): Promise<void> {
  const id = context.params[0]!;
  const letter = await api.get<DeadLetterView>(`/dead-letters/${seg(id)}`);
  if (!context.current()) return;
  const buttons = READ_ONLY
    ? null
    : h(
        'div',
        { class: 'actions', role: 'group', 'aria-label': 'Actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            onclick: async () => {
              if (!(await openDialog({ title: 'Replay this dead letter?', body: [h('p', {}, `${letter.kind} ${letter.name} runs again with fresh attempts; execution ${letter.executionId} resumes.`)], confirmLabel: 'Replay' }))) return;
              try {
                await api.post(`/dead-letters/${seg(letter.id)}/replay`);
                location.hash = `/executions/${encodeURIComponent(letter.executionId)}`;
              } catch (error) {
                context.showError(error);
              }
            },
          },
          'Replay…',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            onclick: async () => {
              if (!(await openDialog({ title: 'Discard this dead letter?', body: [h('p', {}, 'It is deleted; its execution stays failed. This cannot be undone.')], confirmLabel: 'Discard', danger: true }))) return;
              try {
                await api.delete(`/dead-letters/${seg(letter.id)}`);
                location.hash = '/dead-letters';
              } catch (error) {
                context.showError(error);
              }
            },
          },
          'Discard…',
        ),
      );
  fill(context.main, 
    heading(`Dead letter: ${letter.kind} ${letter.name}`),
    h('p', { class: 'execution-id' }, h('code', {}, letter.id)),
    buttons,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Execution'),
      h('dd', {}, link(`/executions/${encodeURIComponent(letter.executionId)}`, h('code', {}, letter.executionId)), letter.workflowName ? ` ${letter.workflowName} ` : ' ', letter.executionState ? stateBadge(letter.executionState) : '(gone)'),
      h('dt', {}, 'Attempts'),
      h('dd', {}, String(letter.attempts)),
      h('dt', {}, 'Reason'),
      h('dd', {}, letter.reason),
      h('dt', {}, 'Failed'),
      h('dd', {}, timeCell(letter.createdAt)),
    ),
    h('section', { 'aria-labelledby': 'letter-error' }, h('h2', { id: 'letter-error' }, 'Error'), letter.error ? errorBlock(letter.error) : h('p', {}, letter.reason)),
    h('section', { 'aria-labelledby': 'letter-args' }, h('h2', { id: 'letter-args' }, 'Arguments'), jsonBlock('Arguments', letter.args)),
  );
}
