/** Executions: server-side filters (state, workflow, queue, tag, created range, id prefix) and pages of a table. */
import { api, type Query } from '../api.js';
import { h, link, fill } from '../dom.js';
import { field } from '../dialog.js';
import { duration, stateBadge, timeCell } from '../format.js';
import { heading, pager, type PageContext } from '../page.js';
import { dataTable } from '../table.js';
import { EXECUTION_STATES, type DefinitionsView, type ExecutionView, type ListView } from '../views.js';

const FILTERS = ['state', 'workflow', 'queue', 'tag', 'parent', 'createdAfter', 'createdBefore', 'q'] as const;
const PAGE_SIZES = [25, 50, 100];

/** A datetime-local value (local time) as the ISO instant the API takes. */
function instant(local: string | null): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

export function executionsRoute(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value !== '' && !(key === 'offset' && value === 0)) params.set(key, String(value));
  const search = params.toString();
  return `/executions${search ? `?${search}` : ''}`;
}

export async function executionsPage(context: PageContext): Promise<void> {
  const query = context.query;
  const limit = PAGE_SIZES.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : PAGE_SIZES[0]!;
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const request: Query = { limit, offset };
  for (const key of FILTERS) {
    const value = query.get(key) ?? undefined;
    request[key] = key === 'createdAfter' || key === 'createdBefore' ? instant(value ?? null) : value;
  }
  const [list, definitions] = await Promise.all([
    api.get<ListView<ExecutionView>>('/executions', request).catch((error: unknown) => {
      context.showError(error);
      return null;
    }),
    api.get<DefinitionsView>('/workflows').catch(() => null),
  ]);
  if (!context.current()) return;

  const controls: Record<string, HTMLInputElement | HTMLSelectElement> = {
    state: h('select', { name: 'state' }, h('option', { value: '' }, 'any'), EXECUTION_STATES.map((state) => h('option', { value: state }, state.replace('_', ' ')))),
    workflow: h('input', { name: 'workflow', type: 'text', list: 'workflow-names', autocomplete: 'off' }),
    queue: h('input', { name: 'queue', type: 'text', autocomplete: 'off' }),
    tag: h('input', { name: 'tag', type: 'text', autocomplete: 'off' }),
    parent: h('input', { name: 'parent', type: 'text', autocomplete: 'off', spellcheck: 'false' }),
    createdAfter: h('input', { name: 'createdAfter', type: 'datetime-local', step: 1 }),
    createdBefore: h('input', { name: 'createdBefore', type: 'datetime-local', step: 1 }),
    q: h('input', { name: 'q', type: 'search', autocomplete: 'off', spellcheck: 'false' }),
    limit: h('select', { name: 'limit' }, PAGE_SIZES.map((size) => h('option', { value: size }, String(size)))),
  };
  for (const key of FILTERS) controls[key]!.value = query.get(key) ?? '';
  controls.limit!.value = String(limit);

  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter executions',
      onsubmit: (event: SubmitEvent) => {
        event.preventDefault();
        const values: Record<string, string> = {};
        for (const [key, control] of Object.entries(controls)) values[key] = control.value.trim();
        location.hash = executionsRoute(values);
      },
    },
    field('State', controls.state!),
    field('Workflow', controls.workflow!),
    field('Queue', controls.queue!),
    field('Tag', controls.tag!),
    field('Parent id', controls.parent!),
    field('Created after', controls.createdAfter!),
    field('Created before', controls.createdBefore!),
    field('Id starts with', controls.q!),
    field('Per page', controls.limit!),
    h('div', { class: 'filter-buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Apply filters'), h('a', { href: '#/executions', class: 'button secondary' }, 'Reset')),
    h('datalist', { id: 'workflow-names' }, (definitions?.workflows ?? []).map((workflow) => h('option', { value: workflow.name }))),
  );

  const results = h('section', { 'aria-labelledby': 'executions-results', class: 'results' });
  if (list) {
    const current = Object.fromEntries([...query.entries()]);
    results.append(
      h('h2', { id: 'executions-results', class: 'sr-only' }, 'Results'),
      dataTable({
        caption: `${list.total} execution${list.total === 1 ? '' : 's'}${FILTERS.some((key) => query.get(key)) ? ' matching the filters' : ''}, newest first`,
        items: list.items,
        empty: 'No execution matches these filters.',
        rowKey: (execution) => execution.id,
        columns: [
          { header: 'Id', cell: (execution) => link(`/executions/${encodeURIComponent(execution.id)}`, h('code', {}, execution.id)) },
          { header: 'Workflow', cell: (execution) => execution.workflowName },
          { header: 'State', cell: (execution) => stateBadge(execution.state) },
          { header: 'Queue', cell: (execution) => execution.queue },
          { header: 'Tags', cell: (execution) => execution.tags.join(', ') },
          { header: 'Created', cell: (execution) => timeCell(execution.createdAt) },
          {
            header: 'Duration',
            class: 'num',
            cell: (execution) => duration((execution.finishedAt ? new Date(execution.finishedAt).getTime() : Date.now()) - new Date(execution.createdAt).getTime()),
          },
        ],
      }),
      pager(list.total, list.offset, list.limit, (next) => {
        location.hash = executionsRoute({ ...current, offset: next });
      }),
    );
  }
  fill(context.main, heading('Executions'), form, results);
}
