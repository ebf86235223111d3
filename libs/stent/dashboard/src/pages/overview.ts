/** Overview: executions by state, throughput of the last hour, backlog per queue, dead letters, workers; refreshed live. */
import { api } from '../api.js';
import { clear, h, link, svg, fill } from '../dom.js';
import { ago, duration, plural } from '../format.js';
import { heading, type PageContext } from '../page.js';
import { dataTable } from '../table.js';
import { EXECUTION_STATES, type ListView, type StatsView, type ThroughputMinuteView, type WorkerView } from '../views.js';

const REFRESH_MS = 5000;

export async function overviewPage(context: PageContext): Promise<void> {
  const body = h('div', { class: 'overview' });
  const updated = h('p', { class: 'updated', 'aria-live': 'off' });
  const draw = async () => {
    const [stats, workers] = await Promise.all([api.get<StatsView>('/stats', { minutes: 60 }), api.get<Pick<ListView<WorkerView>, 'items'>>('/workers', { recent: '1h' })]);
    if (!context.current()) return;
    // A refresh never pulls the content from under the keyboard: with the focus inside, it waits for the next tick.
    if (body.contains(document.activeElement)) return;
    clear(body);
    body.append(...sections(stats, workers.items));
    updated.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000} s`;
  };
  await draw();
  fill(context.main, heading('Overview'), updated, body);
  context.every(REFRESH_MS, draw);
}

function sections(stats: StatsView, workers: WorkerView[]): HTMLElement[] {
  const total = EXECUTION_STATES.reduce((sum, state) => sum + (stats.executions[state] ?? 0), 0);
  const counts = h(
    'section',
    { 'aria-labelledby': 'overview-states' },
    h('h2', { id: 'overview-states' }, 'Executions by state'),
    h(
      'ul',
      { class: 'cards' },
      h('li', { class: 'card' }, link('/executions', h('span', { class: 'card-value' }, String(total)), h('span', { class: 'card-label' }, 'all'))),
      EXECUTION_STATES.map((state) =>
        h(
          'li',
          { class: `card card-${state}`, 'data-state': state },
          link(`/executions?state=${state}`, h('span', { class: 'card-value' }, String(stats.executions[state] ?? 0)), h('span', { class: 'card-label' }, state.replace('_', ' '))),
        ),
      ),
      h(
        'li',
        { class: `card card-dead${stats.deadLetters ? ' card-alert' : ''}`, 'data-state': 'dead-letters' },
        link('/dead-letters', h('span', { class: 'card-value' }, String(stats.deadLetters)), h('span', { class: 'card-label' }, 'dead letters')),
      ),
      h(
        'li',
        { class: 'card', 'data-state': 'backlog' },
        h('span', { class: 'card-value' }, duration(stats.backlogAgeMs)),
        h('span', { class: 'card-label' }, `oldest due work · ${stats.activities.due} due, ${stats.activities.running} running`),
      ),
    ),
  );

  const throughput = h(
    'section',
    { 'aria-labelledby': 'overview-throughput' },
    h('h2', { id: 'overview-throughput' }, 'Throughput, last hour'),
    h(
      'p',
      { class: 'muted' },
      `${stats.throughput.executionsPerMinute.toFixed(1)} executions and ${stats.throughput.stepsPerMinute.toFixed(1)} steps finished per minute on average`,
    ),
    chart(stats.throughput.perMinute),
  );

  const queues = h(
    'section',
    { 'aria-labelledby': 'overview-queues' },
    h('h2', { id: 'overview-queues' }, 'Backlog by queue'),
    dataTable({
      caption: 'Due, scheduled and running work per queue',
      items: stats.queues,
      empty: 'No queue has work waiting.',
      columns: [
        { header: 'Queue', cell: (queue) => h('a', { href: `#/executions?queue=${encodeURIComponent(queue.queue)}` }, queue.queue) },
        { header: 'Due', cell: (queue) => `${queue.due} (${queue.dueActivities} steps, ${queue.dueExecutions} executions)`, class: 'num' },
        { header: 'Oldest due', cell: (queue) => duration(queue.oldestDueAgeMs), class: 'num' },
        { header: 'Scheduled', cell: (queue) => String(queue.scheduledActivities), class: 'num' },
        { header: 'Running', cell: (queue) => String(queue.runningActivities), class: 'num' },
      ],
    }),
  );

  const live = workers.filter((worker) => worker.status === 'live').length;
  const workerSection = h(
    'section',
    { 'aria-labelledby': 'overview-workers' },
    h('h2', { id: 'overview-workers' }, `Workers · ${live} live, ${workers.length - live} stopped or lost`),
    dataTable({
      caption: 'Worker processes seen in the last hour',
      items: workers,
      empty: 'No worker has run in the last hour.',
      rowClass: (worker) => `worker-${worker.status}`,
      columns: [
        { header: 'Worker', cell: (worker) => h('code', {}, worker.id) },
        { header: 'Host (pid)', cell: (worker) => `${worker.hostname} (${worker.pid})` },
        { header: 'Status', cell: (worker) => h('span', { class: `badge worker-${worker.status}` }, worker.status) },
        { header: 'State', cell: (worker) => worker.state },
        { header: 'Queues', cell: (worker) => (worker.queues.length ? worker.queues.join(', ') : 'all') },
        {
          header: 'Serves',
          cell: (worker) =>
            h('span', { title: [...worker.workflows, ...worker.activities].join(', ') }, `${plural(worker.workflows.length, 'workflow')}, ${plural(worker.activities.length, 'activity', 'activities')}`),
        },
        { header: 'Concurrency', cell: (worker) => (worker.concurrency === null ? '—' : String(worker.concurrency)), class: 'num' },
        { header: 'Last seen', cell: (worker) => ago(worker.heartbeatAt) },
      ],
    }),
  );
  return [counts, throughput, queues, workerSection];
}

/** Finished executions per minute as bars (completed above, failed in red), with a text summary for screen readers. */
function chart(minutes: ThroughputMinuteView[]): HTMLElement {
  const width = 720;
  const height = 140;
  const pad = 24;
  const peak = Math.max(1, ...minutes.map((minute) => minute.executionsCompleted + minute.executionsFailed + minute.stepsCompleted + minute.stepsFailed));
  const barWidth = (width - pad) / Math.max(1, minutes.length);
  const scale = (value: number) => (value / peak) * (height - pad);
  const bars: SVGElement[] = [];
  minutes.forEach((minute, index) => {
    const x = pad + index * barWidth;
    let y = height - pad;
    const label = `${new Date(minute.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${minute.executionsCompleted} executions completed, ${minute.executionsFailed} failed, ${minute.stepsCompleted} steps completed, ${minute.stepsFailed} failed`;
    const group = svg('g', {}, svg('title', {}, label));
    for (const [value, kind] of [
      [minute.stepsCompleted, 'steps-ok'],
      [minute.stepsFailed, 'steps-failed'],
      [minute.executionsCompleted, 'exec-ok'],
      [minute.executionsFailed, 'exec-failed'],
    ] as const) {
      if (!value) continue;
      const barHeight = scale(value);
      y -= barHeight;
      group.appendChild(svg('rect', { x: x + 1, y, width: Math.max(1, barWidth - 2), height: barHeight, class: `bar ${kind}` }));
    }
    bars.push(group);
  });
  const totals = minutes.reduce(
    (sum, minute) => ({ done: sum.done + minute.executionsCompleted, failed: sum.failed + minute.executionsFailed, steps: sum.steps + minute.stepsCompleted }),
    { done: 0, failed: 0, steps: 0 },
  );
  const summary = `In the last ${minutes.length} minutes: ${totals.done} executions completed, ${totals.failed} failed, ${totals.steps} steps completed; at most ${peak} items in one minute.`;
  const figure = h(
    'figure',
    { class: 'chart' },
    svg(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': summary, preserveAspectRatio: 'none' },
      svg('line', { x1: pad, y1: height - pad, x2: width, y2: height - pad, class: 'axis' }),
      svg('text', { x: 2, y: 12, class: 'axis-label' }, String(peak)),
      svg('text', { x: 2, y: height - pad, class: 'axis-label' }, '0'),
      svg('text', { x: pad, y: height - 6, class: 'axis-label' }, `-${minutes.length} min`),
      svg('text', { x: width - 30, y: height - 6, class: 'axis-label' }, 'now'),
      ...bars,
    ),
    h(
      'figcaption',
      {},
      h('span', { class: 'legend exec-ok' }, 'executions completed'),
      h('span', { class: 'legend exec-failed' }, 'executions failed'),
      h('span', { class: 'legend steps-ok' }, 'steps completed'),
      h('span', { class: 'legend steps-failed' }, 'steps failed'),
      h('span', { class: 'sr-only' }, summary),
    ),
  );
  return figure;
}
