/** Workflows: the registry of the process serving the API, with each definition's options. */
import { api } from '../api.js';
import { h, link, fill } from '../dom.js';
import { duration } from '../format.js';
import { heading, type PageContext } from '../page.js';
import { dataTable } from '../table.js';
import type { DefinitionsView, FlowLimitsView, RetryPolicyView } from '../views.js';

const retryText = (retry: RetryPolicyView) =>
  `${retry.maxAttempts} attempt${retry.maxAttempts === 1 ? '' : 's'}, ${duration(retry.initialDelayMs)} ×${retry.backoffFactor} up to ${duration(retry.maxDelayMs)}` +
  `${retry.jitter ? `, jitter ${retry.jitter}` : ''}${retry.nonRetryable.length ? `; never retried: ${retry.nonRetryable.join(', ')}` : ''}`;

export async function workflowsPage(context: PageContext): Promise<void> {
  const definitions = await api.get<DefinitionsView>('/workflows');
  if (!context.current()) return;
  fill(context.main, 
    heading('Workflows'),
    h('p', { class: 'muted' }, 'What the application serving this dashboard registered, with the options each definition resolved to.'),
    h(
      'section',
      { 'aria-labelledby': 'registry-workflows' },
      h('h2', { id: 'registry-workflows' }, 'Workflows'),
      dataTable({
        caption: `${definitions.workflows.length} workflows`,
        items: definitions.workflows,
        empty: 'No workflow is registered in this process.',
        columns: [
          { header: 'Name', cell: (workflow) => link(`/executions?workflow=${encodeURIComponent(workflow.name)}`, workflow.name) },
          { header: 'Class', cell: (workflow) => h('code', {}, workflow.className) },
          { header: 'Queue', cell: (workflow) => workflow.queue },
          { header: 'Priority', cell: (workflow) => (workflow.priority === null ? 'default' : String(workflow.priority)), class: 'num' },
          { header: 'Tags', cell: (workflow) => workflow.tags.join(', ') || '—' },
          { header: 'Max duration', cell: (workflow) => (workflow.maxDurationMs === null ? 'none' : duration(workflow.maxDurationMs)) },
          { header: 'Flow limits', cell: (workflow) => flowLimitsText(workflow) },
        ],
      }),
    ),
    h(
      'section',
      { 'aria-labelledby': 'registry-activities' },
      h('h2', { id: 'registry-activities' }, 'Activities'),
      dataTable({
        caption: `${definitions.activities.length} activities`,
        items: definitions.activities,
        empty: 'No activity is registered in this process.',
        columns: [
          { header: 'Name', cell: (activity) => activity.name },
          { header: 'Method', cell: (activity) => h('code', {}, `${activity.className}.${activity.methodName}`) },
          { header: 'Queue', cell: (activity) => activity.queue },
          { header: 'Retry', cell: (activity) => retryText(activity.retry) },
          { header: 'Timeout', cell: (activity) => (activity.timeoutMs === null ? 'none' : duration(activity.timeoutMs)) },
          { header: 'Max concurrent', cell: (activity) => (activity.maxConcurrent === null ? 'no limit' : String(activity.maxConcurrent)), class: 'num' },
          { header: 'Flow limits', cell: (activity) => flowLimitsText(activity) },
          { header: 'Cache', cell: (activity) => (activity.cache ? `ttl ${activity.cache.ttlMs === null ? '∞' : duration(activity.cache.ttlMs)}, v${activity.cache.version}` : '—') },
          { header: 'Tags', cell: (activity) => activity.tags.join(', ') || '—' },
        ],
      }),
    ),
  );
}

/** '2 per key at once, 100 per 1h per key' or '—'. */
function flowLimitsText(limits: FlowLimitsView): string {
  const parts: string[] = [];
  if (limits.concurrency) parts.push(`${limits.concurrency.limit} per key at once`);
  if (limits.rateLimit) parts.push(`${limits.rateLimit.limit} per ${duration(limits.rateLimit.perMs)}${limits.rateLimit.keyed ? ' per key' : ''}`);
  return parts.join(', ') || '—';
}
