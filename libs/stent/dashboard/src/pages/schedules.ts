/** Schedules and pauses: cron workflows with their next and last tick, and the paused queues and workflow types. */
import { api, READ_ONLY, seg } from '../api.js';
import { h, link, fill } from '../dom.js';
import { timeCell } from '../format.js';
import { heading, type PageContext } from '../page.js';
import { dataTable } from '../table.js';
import type { ListView, PausedView, ScheduleView } from '../views.js';

export async function schedulesPage(context: PageContext): Promise<void> {
  const [schedules, paused] = await Promise.all([api.get<Pick<ListView<ScheduleView>, 'items'>>('/schedules'), api.get<Pick<ListView<PausedView>, 'items'>>('/paused')]);
  if (!context.current()) return;
  const act = (label: string, focusKey: string, action: () => Promise<unknown>, done: string) =>
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        'data-focus-key': focusKey,
        onclick: async () => {
          try {
            await action();
            context.reload(done);
          } catch (error) {
            context.showError(error);
          }
        },
      },
      label,
    );
  const scheduleActions = (s: ScheduleView) =>
    h(
      'div',
      { class: 'actions', role: 'group', 'aria-label': `Actions of schedule ${s.name}` },
      s.state === 'paused'
        ? act('Resume', `resume-${s.name}`, () => api.post(`/schedules/${seg(s.name)}/resume`), `Resumed schedule ${s.name}.`)
        : act('Pause', `pause-${s.name}`, () => api.post(`/schedules/${seg(s.name)}/pause`), `Paused schedule ${s.name}.`),
      act('Run now', `trigger-${s.name}`, () => api.post(`/schedules/${seg(s.name)}/trigger`), `Started a run of ${s.name}.`),
    );
  fill(
    context.main,
    heading('Schedules'),
    h('p', { class: 'muted' }, 'Workflows started at each tick of a cron expression (one execution per tick across all workers), and what is paused.'),
    h(
      'section',
      { 'aria-labelledby': 'schedules-list' },
      h('h2', { id: 'schedules-list' }, 'Schedules'),
      dataTable({
        caption: `${schedules.items.length} schedules`,
        items: schedules.items,
        empty: 'No schedule.',
        columns: [
          { header: 'Name', cell: (s) => s.name },
          { header: 'Workflow', cell: (s) => link(`/executions?workflow=${encodeURIComponent(s.workflowName)}`, s.workflowName) },
          { header: 'Cron', cell: (s) => h('span', {}, h('code', {}, s.cron), ` ${s.timezone}`) },
          { header: 'State', cell: (s) => h('span', { class: `badge state-${s.state === 'paused' ? 'cancelled' : 'running'}` }, s.state) },
          { header: 'Next tick', cell: (s) => timeCell(s.nextTickAt) },
          { header: 'Last tick', cell: (s) => timeCell(s.lastTickAt) },
          { header: 'Last run', cell: (s) => (s.lastExecutionId ? link(`/executions/${encodeURIComponent(s.lastExecutionId)}`, s.lastExecutionId.slice(0, 8)) : '—') },
          { header: 'Missed ticks', cell: (s) => (s.catchUp === 'skip' ? 'skipped' : `latest ${s.catchUp} run`) },
          { header: 'Overlap', cell: (s) => s.overlap },
          ...(READ_ONLY ? [] : [{ header: 'Actions', cell: scheduleActions }]),
        ],
      }),
    ),
    h(
      'section',
      { 'aria-labelledby': 'paused-list' },
      h('h2', { id: 'paused-list' }, 'Paused queues and workflow types'),
      dataTable({
        caption: `${paused.items.length} paused`,
        items: paused.items,
        empty: 'Nothing is paused.',
        columns: [
          { header: 'Kind', cell: (p) => p.kind },
          { header: 'Name', cell: (p) => p.name },
          { header: 'Paused at', cell: (p) => timeCell(p.pausedAt) },
          ...(READ_ONLY
            ? []
            : [{ header: 'Actions', cell: (p: PausedView) => act('Resume', `resume-${p.kind}-${p.name}`, () => api.post(`/${p.kind === 'queue' ? 'queues' : 'workflows'}/${seg(p.name)}/resume`), `Resumed ${p.kind} ${p.name}.`) }]),
        ],
      }),
    ),
  );
}
