import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, StentExecutor, WorkerLostError, type StentEventMap, type WorkerOptions } from 'nestjs-stent';
import { createTestDatabase, DIALECTS } from '../support/databases.js';
import { FaultActs, PoisonFlow, SeqFlow } from '../fixtures/fault-flows.js';
import { waitUntil } from '../support/wait.js';
import { dispatchMany, exactlyOnceProblems, killAllProcesses, openFaultEnv, recordedSteps, waitAllCompleted, WorkerSupervisor, type FaultEnv } from './fault-env.js';

const MAX_RECOVERIES = 3;
const WORKER: WorkerOptions = {
  concurrency: 4,
  lease: '1s',
  heartbeat: '250ms',
  pollInterval: '50ms',
  maxPollInterval: '200ms',
  maxRecoveries: MAX_RECOVERIES,
};

describe.each(DIALECTS)('poison task that kills its worker every time (%s)', (dialect) => {
  let env: FaultEnv | undefined;
  let supervisor: WorkerSupervisor | undefined;

  let observer: StentExecutor | undefined;

  afterEach(async () => {
    await observer?.close('1s');
    observer = undefined;
    await supervisor?.stop();
    supervisor = undefined;
    await killAllProcesses();
    await env?.dispose();
    env = undefined;
  });

  it('is dead-lettered after maxRecoveries instead of looping; the workflow sees ActivityFailedError; workers keep working', async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    supervisor = new WorkerSupervisor(env.spec(WORKER), 2);
    await supervisor.start();

    const id = await client.dispatch(PoisonFlow, []);
    const result = await client.waitFor<string>(id, { timeout: '90s' });
    expect(result.state).toBe('completed');
    expect(result.value).toBe('caught:ActivityFailedError');

    const dead = await client.listDeadLetters({ limit: 100 });
    const entry = dead.items.find((item) => item.executionId === id);
    expect(entry, JSON.stringify(dead.items)).toBeDefined();
    expect(entry!.name).toBe('FaultActs.poison');
    expect(entry!.kind).toBe('activity');
    expect(entry!.reason).toMatch(/poison|lost|crash/i);

    // Each run of the body killed a worker; the engine gave up after maxRecoveries lost workers.
    const poisonRuns = env.runs().filter((r) => r.act === 'poison');
    expect(poisonRuns.every((r) => r.executionId === id && r.end === undefined)).toBe(true);
    expect(poisonRuns.length).toBeGreaterThanOrEqual(2);
    expect(poisonRuns.length).toBeLessThanOrEqual(MAX_RECOVERIES + 1);
    await waitUntil(() => supervisor!.deaths >= poisonRuns.length, 'every poisoned worker to be seen dead', 10_000);

    // It is settled for good: failed, unclaimed, never to be claimed again.
    const [step] = await inspector.query<{ state: string; lease_owner: string | null }>(
      `SELECT state, lease_owner FROM ${inspector.t.steps} WHERE execution_id = ? AND position = 0`,
      [id],
    );
    expect(step).toEqual({ state: 'failed', lease_owner: null });

    // Workers keep working: new work completes, and the poison body does not run again.
    const later = await dispatchMany(5, () => client.dispatch(SeqFlow, [[0, 0]]));
    await waitAllCompleted(inspector, later.length + 1, 60_000, 'workflows dispatched after the poison task to complete');
    expect(supervisor.alive.length).toBeGreaterThanOrEqual(1);
    expect(env.runs().filter((r) => r.act === 'poison')).toHaveLength(poisonRuns.length);
  });

  it('work in flight beside the poison task is recovered and completes; only the poison task is dead-lettered', async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    const { client, inspector } = env;
    supervisor = new WorkerSupervisor(env.spec(WORKER), 2);
    await supervisor.start();

    // Innocent workflows in flight in the same workers when the poison task kills them (crash safety, §3.2).
    const bystanders = await dispatchMany(10, () => client.dispatch(SeqFlow, [[20, 20]]));
    const id = await client.dispatch(PoisonFlow, []);
    const result = await client.waitFor<string>(id, { timeout: '90s' });
    expect(result.value).toBe('caught:ActivityFailedError');

    await waitAllCompleted(inspector, bystanders.length + 1, 60_000, 'the bystander workflows to complete');
    const dead = await client.listDeadLetters({ limit: 100 });
    expect(dead.items.map((item) => item.name)).toEqual(['FaultActs.poison']);
    // Each bystander step has exactly one recorded result, from a body that finished.
    const steps = await recordedSteps(inspector, bystanders);
    expect(steps).toHaveLength(bystanders.length * 2);
    expect(steps.every((step) => step.state === 'completed')).toBe(true);
    const killed = new Set(supervisor.workers.filter((w) => !w.alive).map((w) => w.pid));
    expect(exactlyOnceProblems(steps, env.runs(), killed)).toEqual([]);
  });

  it('the worker that dead-letters a poison task announces it: step.failed, then step.dead_lettered with WorkerLostError', async () => {
    env = await openFaultEnv(await createTestDatabase(dialect));
    // The poison body runs in a child that it kills; this process's worker cannot run it (FaultActs is not
    // registered here), so once the child is dead this worker is the one that reaps its lease.
    // The child must die holding its lease: one that expired first (a 1 s lease, a child starved for 0.75 s
    // on a loaded machine) is recovered once, then waits for the dead child forever, dead-lettering nothing.
    const options: WorkerOptions = { ...WORKER, lease: '4s', heartbeat: '500ms', maxRecoveries: 1 };
    observer = new StentExecutor({ store: await createStentStore({ database: env.db.options }), worker: options });
    observer.register(() => new PoisonFlow(new FaultActs()));
    const seen: Array<{ event: string; payload: StentEventMap['step.failed'][0] | StentEventMap['step.dead_lettered'][0] }> = [];
    observer.events.on('step.failed', (payload) => seen.push({ event: 'step.failed', payload }));
    observer.events.on('step.dead_lettered', (payload) => seen.push({ event: 'step.dead_lettered', payload }));
    await observer.start();
    const child = await env.startWorker(options);

    const id = await observer.dispatch(PoisonFlow, []);
    const result = await observer.waitFor<string>(id, { timeout: '60s' });
    expect(result.value).toBe('caught:ActivityFailedError');
    await waitUntil(() => !child.alive, 'the poisoned child to be dead', 10_000);

    expect(seen.map((entry) => entry.event)).toEqual(['step.failed', 'step.dead_lettered']);
    const [failed, dead] = seen.map((entry) => entry.payload);
    expect(failed).toMatchObject({ executionId: id, position: 0, name: 'FaultActs.poison', attempt: 1, willRetry: false });
    expect(dead).toMatchObject({ executionId: id, stepId: failed!.stepId, position: 0, name: 'FaultActs.poison', attempt: 1, reason: expect.stringMatching(/^poison/) });
    expect((dead as StentEventMap['step.dead_lettered'][0]).error).toBeInstanceOf(WorkerLostError);
    expect((dead as StentEventMap['step.dead_lettered'][0]).error).toMatchObject({ code: 'STENT_WORKER_LOST', recoveries: 1 });
    const entry = (await observer.listDeadLetters({ limit: 10 })).items.find((item) => item.executionId === id);
    expect(entry?.reason).toBe((dead as StentEventMap['step.dead_lettered'][0]).reason);
  });
});
