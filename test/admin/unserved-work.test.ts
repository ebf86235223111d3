import { afterEach, describe, expect, it } from 'vitest';
import { defineActivity, defineWorkflow } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { finalStateOf, waitUntil } from '../support/wait.js';

class Mailer {
  async send(to: string): Promise<string> {
    return `sent to ${to}`;
  }
}
defineActivity(Mailer, { name: 'UnservedMailer' });

/** Routed to a queue the test's worker does not serve (as a typo in a queue name would). */
class SlowLaneReport {
  async run(): Promise<string> {
    return 'report';
  }
}
defineWorkflow(SlowLaneReport, { queue: 'reports-slow' });

/** Registered only by the dispatching process, never by a worker. */
class OnlyInTheApi {
  async run(): Promise<string> {
    return 'api';
  }
}
defineWorkflow(OnlyInTheApi);

/** Served: the worker has it, on its queue. */
class Notify {
  constructor(private readonly mailer: Mailer) {}
  async run(to: string): Promise<string> {
    return this.mailer.send(to);
  }
}
defineWorkflow(Notify);

describe.each(DIALECTS)('work no live worker will take, on %s', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
  });

  it('is listed by stats() with its reason, and served work is not', async () => {
    set = await ExecutorSet.create(dialect);
    const mailer = new Mailer();
    await set.executor([mailer, new Notify(mailer)], { ...QUICK_WORKER, unservedWarningInterval: false });
    const api = await set.executor([mailer, new Notify(mailer), new SlowLaneReport(), new OnlyInTheApi()], false);

    const served = await api.dispatch(Notify, ['ada@example.com']);
    expect(await finalStateOf(api, served)).toBe('completed');
    await api.dispatch(SlowLaneReport, []);
    await api.dispatch(SlowLaneReport, []);
    await api.dispatch(OnlyInTheApi, []);

    const { unserved } = await api.stats();
    expect(unserved.map(({ kind, queue, name, reason, due }) => ({ kind, queue, name, reason, due }))).toEqual(
      expect.arrayContaining([
        { kind: 'workflow', queue: 'reports-slow', name: 'SlowLaneReport', reason: 'queue', due: 2 },
        { kind: 'workflow', queue: 'default', name: 'OnlyInTheApi', reason: 'name', due: 1 },
      ]),
    );
    expect(unserved).toHaveLength(2);
    expect(unserved.every((work) => work.oldestDueAgeMs >= 0)).toBe(true);
  });

  it('is logged as a warning by worker processes, once per queue and name while it keeps waiting', async () => {
    set = await ExecutorSet.create(dialect);
    const mailer = new Mailer();
    await set.executor([mailer, new Notify(mailer)], { ...QUICK_WORKER, unservedWarningInterval: '100ms' });
    const api = await set.executor([new SlowLaneReport(), new OnlyInTheApi()], false);
    await api.dispatch(SlowLaneReport, []);

    const warnings = () => set!.logger.lines.filter((line) => line.level === 'warn' && line.message.startsWith('Unserved work'));
    const [first] = await waitUntil(() => (warnings().length > 0 ? warnings() : null), 'an unserved-work warning', 20_000);
    expect(first.message).toContain("workflow 'SlowLaneReport' on queue 'reports-slow'");
    expect(first.message).toContain("no live worker serves queue 'reports-slow'");
    // Later checks still see it waiting: new unserved work is warned about, the same work not again.
    await api.dispatch(OnlyInTheApi, []);
    await waitUntil(() => warnings().some((line) => line.message.includes("'OnlyInTheApi'")), 'a warning about later work', 20_000);
    expect(warnings().filter((line) => line.message.includes("'SlowLaneReport'"))).toHaveLength(1);
  });

  it('is not reported once a worker serves it', async () => {
    set = await ExecutorSet.create(dialect);
    const api = await set.executor([new SlowLaneReport()], false);
    const id = await api.dispatch(SlowLaneReport, []);
    expect((await api.stats()).unserved).toHaveLength(1);
    await set.executor([new SlowLaneReport()], { ...QUICK_WORKER, queues: ['reports-slow'], unservedWarningInterval: false });
    expect(await finalStateOf(api, id)).toBe('completed');
    expect((await api.stats()).unserved).toEqual([]);
  });
});
