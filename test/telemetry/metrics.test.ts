import { afterEach, describe, expect, it } from 'vitest';
import { MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { createStentStore, defineActivity, defineWorkflow, NonRetryableError, openTelemetry, StentExecutor, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/databases.js';

/** A reader the test collects from when it wants. */
class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

class Charges {
  calls = 0;
  async charge(cents: number): Promise<number> {
    this.calls++;
    if (cents < 0) throw new NonRetryableError('negative amount');
    if (this.calls === 1) throw new Error('gateway down');
    return cents;
  }
}
defineActivity(Charges, { retry: { maxAttempts: 3, initialDelay: '20ms', jitter: false } });

class Billing {
  constructor(private readonly charges: Charges) {}
  async run(amounts: number[]): Promise<number> {
    let total = 0;
    for (const cents of amounts) total += await this.charges.charge(cents);
    return total;
  }
}
defineWorkflow(Billing);

const WORKER: WorkerOptions = { concurrency: 4, pollInterval: '20ms', maxPollInterval: '100ms', lease: '10s' };

describe.each(DIALECTS)('OpenTelemetry metrics on %s', (dialect) => {
  let db: TestDatabase | undefined;
  let executor: StentExecutor | undefined;
  afterEach(async () => {
    await executor?.close('1s');
    await db?.dispose();
  });

  it('counts steps started, completed, failed and dead-lettered, records their durations, executions, and reads the backlog', async () => {
    db = await createTestDatabase(dialect);
    const reader = new CollectingReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    executor = new StentExecutor({ store: await createStentStore({ database: db.options }), worker: WORKER, telemetry: await openTelemetry({ meterProvider }) });
    const charges = new Charges();
    executor.register(charges, () => new Billing(charges));
    await executor.start();

    const ok = await executor.dispatch(Billing, [[100, 250]]);
    expect((await executor.waitFor(ok, { timeout: '30s' })).unwrap()).toBe(350);
    const bad = await executor.dispatch(Billing, [[-1]]);
    expect((await executor.waitFor(bad, { timeout: '30s' })).ok).toBe(false);
    // Work that waits: a delayed execution is scheduled, not due.
    await executor.dispatch(Billing, [[1]], { delay: '1h' });

    const { resourceMetrics } = await reader.collect();
    const metrics = new Map<string, MetricData>(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics.map((metric) => [metric.descriptor.name, metric] as const)));
    const sum = (name: string, filter: (attributes: Record<string, unknown>) => boolean = () => true): number =>
      (metrics.get(name)?.dataPoints as Array<DataPoint<number>> | undefined)?.filter((point) => filter(point.attributes)).reduce((total, point) => total + point.value, 0) ?? 0;

    // Attempts: 100 (fails once, then completes), 250, -1 (non-retryable).
    expect(sum('stent.steps.started', (a) => a['stent.step'] === 'Charges.charge')).toBe(4);
    expect(sum('stent.steps.completed')).toBe(2);
    expect(sum('stent.steps.failed', (a) => a['stent.will_retry'] === true)).toBe(1);
    expect(sum('stent.steps.failed', (a) => a['stent.will_retry'] === false)).toBe(1);
    expect(sum('stent.steps.dead_lettered', (a) => a['stent.dead_letter_reason'] === 'non-retryable error')).toBe(1);
    expect(sum('stent.executions.finished', (a) => a['stent.state'] === 'completed' && a['stent.workflow'] === 'Billing')).toBe(1);
    expect(sum('stent.executions.finished', (a) => a['stent.state'] === 'failed')).toBe(1);
    expect(sum('stent.executions.started', (a) => a['stent.replay'] === false)).toBe(2);

    const durations = metrics.get('stent.step.duration')!.dataPoints as Array<DataPoint<Histogram>>;
    expect(durations.find((point) => point.attributes['stent.outcome'] === 'completed')!.value.count).toBe(2);
    expect(durations.find((point) => point.attributes['stent.outcome'] === 'failed')!.value.count).toBe(2);
    expect(metrics.get('stent.step.duration')!.descriptor.unit).toBe('ms');

    const executions = metrics.get('stent.backlog.executions')!.dataPoints as Array<DataPoint<number>>;
    expect(executions.find((point) => point.attributes['stent.state'] === 'pending')!.value).toBe(1);
    expect(executions.find((point) => point.attributes['stent.state'] === 'completed')!.value).toBe(1);
    const activities = metrics.get('stent.backlog.activities')!.dataPoints as Array<DataPoint<number>>;
    expect(activities.map((point) => point.attributes['stent.state']).sort()).toEqual(['due', 'running', 'scheduled']);
    expect(activities.every((point) => point.value === 0)).toBe(true);
    expect((metrics.get('stent.backlog.age')!.dataPoints[0] as DataPoint<number>).value).toBe(0);
    await meterProvider.shutdown();
  });
});
