import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import {
  defineActivity,
  defineWorkflow,
  setActivityMethodOptions,
  Stent,
  StentCacheEntity,
  StentDeadLetterEntity,
  stentEntities,
  StentExecutionEntity,
  StentSignalEntity,
  StentStepEntity,
  StentWorkerEntity,
  StentScheduleEntity,
  StentPauseEntity,
  StentDebounceEntity,
  StentSingletonEntity,
  StentSingletonWaiterEntity,
} from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet } from '../support/executor-set.js';

class LedgerActs {
  async price(sku: string): Promise<number> {
    return sku.length * 7;
  }
  async broken(): Promise<void> {
    throw new Error('ledger offline');
  }
}
setActivityMethodOptions(LedgerActs.prototype, 'price', { idempotent: true });
setActivityMethodOptions(LedgerActs.prototype, 'broken', { retry: { maxAttempts: 1 } });
defineActivity(LedgerActs);

/** Writes a row to every Stent table: steps, a cache entry, a consumed signal, a dead letter. */
class LedgerFlow {
  constructor(private readonly acts: LedgerActs) {}
  async run(sku: string): Promise<string> {
    const price = await this.acts.price(sku);
    const go = await Stent.waitForSignal<string>('go');
    try {
      await this.acts.broken();
    } catch {
      // compensated: the dead letter stays listed
    }
    return `${price}:${go}`;
  }
}
defineWorkflow(LedgerFlow);

describe.each(DIALECTS)("Stent's TypeORM entities on %s", (dialect) => {
  let set: ExecutorSet | undefined;
  let reader: DataSource | undefined;
  afterEach(async () => {
    if (reader?.isInitialized) await reader.destroy();
    await set?.dispose();
    set = reader = undefined;
  });

  it('read every table the migrations created, with times as numbers', async () => {
    set = await ExecutorSet.create(dialect);
    const acts = new LedgerActs();
    const executor = await set.executor([acts, new LedgerFlow(acts)]);
    const id = await executor.dispatch(LedgerFlow, ['abc']);
    await executor.sendSignal(id, 'go', 'yes');
    const result = await executor.waitFor(id, { timeout: '30s' });
    expect(result.value).toBe('21:yes');

    const options = set.db.options;
    reader = new DataSource(
      options.type === 'postgres'
        ? { type: 'postgres', url: options.url, schema: options.schema, entities: stentEntities, synchronize: false }
        : { type: 'better-sqlite3', database: options.database, entities: stentEntities, synchronize: false },
    );
    await reader.initialize();

    const execution = await reader.getRepository(StentExecutionEntity).findOneByOrFail({ id });
    expect(execution).toMatchObject({ workflowName: 'LedgerFlow', state: 'completed', leaseOwner: null });
    expect(typeof execution.createdAt).toBe('number');
    expect(execution.finishedAt).toBe((await executor.getExecution(id)).finishedAt!.getTime());

    const steps = await reader.getRepository(StentStepEntity).find({ where: { executionId: id }, order: { position: 'ASC' } });
    expect(steps.map((s) => [s.position, s.kind, s.name, s.state])).toEqual([
      [0, 'activity', 'LedgerActs.price', 'completed'],
      [1, 'signal', 'go', 'completed'],
      [2, 'activity', 'LedgerActs.broken', 'failed'],
    ]);

    const [signal] = await reader.getRepository(StentSignalEntity).findBy({ executionId: id });
    expect(signal).toMatchObject({ name: 'go', consumedPosition: 1 });
    expect(typeof signal!.seq).toBe('number');
    expect(signal!.consumedAt).toBeGreaterThanOrEqual(signal!.createdAt);

    const [cached] = await reader.getRepository(StentCacheEntity).find();
    expect(cached).toMatchObject({ name: 'LedgerActs.price', expiresAt: null });
    expect(JSON.parse(cached!.result)).toBe(21);

    const [letter] = await reader.getRepository(StentDeadLetterEntity).findBy({ executionId: id });
    expect(letter).toMatchObject({ kind: 'activity', name: 'LedgerActs.broken', attempts: 1, reason: 'attempts exhausted' });

    const workers = await reader.getRepository(StentWorkerEntity).find();
    expect(workers.map((w) => w.pid)).toContain(process.pid);
    expect(workers.every((w) => typeof w.heartbeatAt === 'number')).toBe(true);

    // Flow control: a schedule, a pause, a debounce key, a singleton holder and one queued behind it.
    await executor.schedules.create({ name: 'ledger-hourly', workflow: LedgerFlow, cron: '0 * * * *', timezone: 'Europe/Berlin', args: ['x'] });
    await executor.pauseQueue('ledger');
    await executor.dispatch(LedgerFlow, ['d'], { debounce: { key: 'k', delay: '1h' } });
    const holder = await executor.dispatch(LedgerFlow, ['s1'], { singleton: 'one' });
    const queued = await executor.dispatch(LedgerFlow, ['s2'], { singleton: 'one' });
    const schedule = await reader.getRepository(StentScheduleEntity).findOneByOrFail({ name: 'ledger-hourly' });
    expect(schedule).toMatchObject({ workflowName: 'LedgerFlow', timezone: 'Europe/Berlin', state: 'active', source: 'api', args: '["x"]' });
    expect(typeof schedule.nextTickAt).toBe('number');
    expect(await reader.getRepository(StentPauseEntity).find()).toMatchObject([{ kind: 'queue', name: 'ledger' }]);
    expect((await reader.getRepository(StentDebounceEntity).find())[0]).toMatchObject({ workflowName: 'LedgerFlow', dispatchKey: 'k' });
    expect(await reader.getRepository(StentSingletonEntity).find()).toMatchObject([{ dispatchKey: 'one', holderId: holder }]);
    const [waiter] = await reader.getRepository(StentSingletonWaiterEntity).find();
    expect(waiter).toMatchObject({ executionId: queued, dispatchKey: 'one' });
    expect(typeof waiter!.queuedAt).toBe('number');
  });
});
