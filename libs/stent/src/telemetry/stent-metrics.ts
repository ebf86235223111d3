import type * as Api from '@opentelemetry/api';
import type { StentEvents, StentStore } from '../core/index.js';
import { ATTR } from './attributes.js';

/**
 * Stent's metrics through the OpenTelemetry metrics API: counters of steps and executions, step
 * durations, and the backlog read from the database whenever a reader collects.
 */
export class StentMetrics {
  private readonly off: Array<() => void> = [];
  private readonly startedAt = new Map<string, number>();
  private readonly gauges: Api.Observable[];
  private readonly observe: Api.BatchObservableCallback;

  constructor(
    private readonly meter: Api.Meter,
    events: StentEvents,
    store: StentStore,
    now: () => number,
  ) {
    const started = meter.createCounter('stent.steps.started', { description: 'Activity attempts started', unit: '{attempt}' });
    const completed = meter.createCounter('stent.steps.completed', { description: 'Activity attempts that returned', unit: '{attempt}' });
    const failed = meter.createCounter('stent.steps.failed', { description: 'Activity attempts that threw or timed out', unit: '{attempt}' });
    const deadLettered = meter.createCounter('stent.steps.dead_lettered', { description: 'Activity steps that failed for good', unit: '{step}' });
    const duration = meter.createHistogram('stent.step.duration', { description: 'Duration of activity attempts', unit: 'ms' });
    const runs = meter.createCounter('stent.executions.started', { description: 'Workflow runs started (replays included)', unit: '{run}' });
    const finished = meter.createCounter('stent.executions.finished', { description: 'Executions that ended', unit: '{execution}' });
    const activities = meter.createObservableGauge('stent.backlog.activities', { description: 'Activity steps by state: due, scheduled (retry back-off), running', unit: '{step}' });
    const executions = meter.createObservableGauge('stent.backlog.executions', { description: 'Executions by state', unit: '{execution}' });
    const age = meter.createObservableGauge('stent.backlog.age', { description: 'How long the oldest due work has waited', unit: 'ms' });
    this.gauges = [activities, executions, age];

    this.on(events, 'step.started', ({ stepId, name }) => {
      this.startedAt.set(stepId, Date.now());
      started.add(1, { [ATTR.step]: name });
    });
    this.on(events, 'step.completed', ({ stepId, name, durationMs }) => {
      this.startedAt.delete(stepId);
      completed.add(1, { [ATTR.step]: name });
      duration.record(durationMs, { [ATTR.step]: name, [ATTR.outcome]: 'completed' });
    });
    this.on(events, 'step.failed', ({ stepId, name, willRetry }) => {
      const start = this.startedAt.get(stepId);
      this.startedAt.delete(stepId);
      failed.add(1, { [ATTR.step]: name, [ATTR.willRetry]: willRetry });
      if (start !== undefined) duration.record(Date.now() - start, { [ATTR.step]: name, [ATTR.outcome]: 'failed' });
    });
    this.on(events, 'step.dead_lettered', ({ name, reason }) => deadLettered.add(1, { [ATTR.step]: name, [ATTR.reason]: reason }));
    this.on(events, 'execution.started', ({ workflowName, replay }) => runs.add(1, { [ATTR.workflow]: workflowName, [ATTR.replay]: replay }));
    this.on(events, 'execution.finished', ({ workflowName, state }) => finished.add(1, { [ATTR.workflow]: workflowName, [ATTR.state]: state }));

    this.observe = async (observer) => {
      const stats = await store.stats(now());
      for (const [state, count] of Object.entries(stats.activities)) observer.observe(activities, count, { [ATTR.state]: state });
      for (const [state, count] of Object.entries(stats.executions)) observer.observe(executions, count, { [ATTR.state]: state });
      observer.observe(age, stats.oldestDueAt === null ? 0 : Math.max(0, now() - stats.oldestDueAt));
    };
    meter.addBatchObservableCallback(this.observe, this.gauges);
  }

  detach(): void {
    for (const off of this.off) off();
    this.meter.removeBatchObservableCallback(this.observe, this.gauges);
  }

  private on<E extends keyof import('../core/index.js').StentEventMap>(events: StentEvents, event: E, listener: (...args: import('../core/index.js').StentEventMap[E]) => void): void {
    events.on(event, listener as never);
    this.off.push(() => events.off(event, listener as never));
  }
}
