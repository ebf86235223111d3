import 'reflect-metadata';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Injectable, Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  Activity,
  ActivityFailedError,
  ConfigurationError,
  NonDeterminismError,
  NonRetryableError,
  OnStentEvent,
  Stent,
  StentExecutor,
  Workflow,
  type StentEventMap,
  type StentEventName,
} from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';

@Activity({ retry: { maxAttempts: 3, initialDelay: '1m', jitter: false } })
class Flaky {
  calls = 0;
  async fetch(): Promise<string> {
    if (++this.calls === 1) throw new Error('flaky once');
    return 'fetched';
  }
  async reject(): Promise<string> {
    throw new NonRetryableError('refused for good');
  }
}

@Workflow()
class Pipeline {
  constructor(private readonly flaky: Flaky) {}
  async run(): Promise<string> {
    const fetched = await this.flaky.fetch();
    try {
      await this.flaky.reject();
    } catch (error) {
      if (!(error instanceof ActivityFailedError)) throw error;
    }
    return fetched;
  }
}

/** Which path the workflow takes: changed between a run and its replay, it makes the replay diverge. */
const codeVersion = { path: 'a' };

@Activity()
class Paths {
  async a(): Promise<string> {
    return 'a';
  }
  async b(): Promise<string> {
    return 'b';
  }
}

@Workflow()
class Diverging {
  constructor(private readonly paths: Paths) {}
  async run(): Promise<string> {
    const first = codeVersion.path === 'a' ? await this.paths.a() : await this.paths.b();
    await Stent.waitForSignal('go');
    return first;
  }
}

/** Records every event it hears, as `event name#attempt` lines. */
@Injectable()
class Recorder {
  readonly heard: string[] = [];
  readonly payloads: Array<{ event: StentEventName; payload: Record<string, unknown> }> = [];
  private note(event: StentEventName, payload: Record<string, unknown>): void {
    this.payloads.push({ event, payload });
    this.heard.push(`${event}${payload.name ? ` ${String(payload.name)}` : ''}${payload.attempt ? `#${String(payload.attempt)}` : ''}${payload.replay ? ' (replay)' : ''}`);
  }
  @OnStentEvent('execution.started') started(payload: StentEventMap['execution.started'][0]) {
    this.note('execution.started', payload);
  }
  @OnStentEvent('step.started') stepStarted(payload: StentEventMap['step.started'][0]) {
    this.note('step.started', payload);
  }
  @OnStentEvent('step.completed') stepCompleted(payload: StentEventMap['step.completed'][0]) {
    this.note('step.completed', payload);
  }
  @OnStentEvent('step.failed') stepFailed(payload: StentEventMap['step.failed'][0]) {
    this.note('step.failed', payload);
  }
  @OnStentEvent('step.retried') stepRetried(payload: StentEventMap['step.retried'][0]) {
    this.note('step.retried', payload);
  }
  @OnStentEvent('step.dead_lettered') stepDeadLettered(payload: StentEventMap['step.dead_lettered'][0]) {
    this.note('step.dead_lettered', payload);
  }
  @OnStentEvent('execution.dead_lettered') executionDeadLettered(payload: StentEventMap['execution.dead_lettered'][0]) {
    this.note('execution.dead_lettered', payload);
  }
  @OnStentEvent('execution.finished') finished(payload: StentEventMap['execution.finished'][0]) {
    this.note('execution.finished', payload);
  }
}

/** A handler that fails must not break the engine. */
@Injectable()
class Broken {
  calls = 0;
  @OnStentEvent('step.completed') async explode(): Promise<void> {
    this.calls++;
    throw new Error('handler bug');
  }
  @OnStentEvent('step.started') throwSync(): void {
    throw new Error('sync handler bug');
  }
}

describe('@OnStentEvent', () => {
  let moduleRef: TestingModule | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    codeVersion.path = 'a';
  });

  async function start(providers: Array<new (...args: never[]) => object>) {
    moduleRef = await Test.createTestingModule({ imports: [StentTestingModule.forRoot()], providers }).compile();
    await moduleRef.init();
    return { harness: moduleRef.get(StentTestHarness), executor: moduleRef.get(StentExecutor) };
  }

  it('calls decorated methods for every lifecycle event, in the order the engine emits them', async () => {
    const { harness, executor } = await start([Flaky, Pipeline, Recorder]);
    const recorder = moduleRef!.get(Recorder);
    const id = await executor.dispatch(Pipeline, []);
    const outcome = await harness.runToCompletion(id);
    expect(outcome.unwrap()).toBe('fetched');
    expect(recorder.heard).toEqual([
      'execution.started',
      'step.started Flaky.fetch#1',
      'step.failed Flaky.fetch#1',
      'step.retried Flaky.fetch#1',
      'step.started Flaky.fetch#2',
      'step.completed Flaky.fetch#2',
      // The run waiting out the back-off was suspended; the result wakes it and it replays its journal.
      'execution.started (replay)',
      'step.started Flaky.reject#1',
      'step.failed Flaky.reject#1',
      'step.dead_lettered Flaky.reject#1',
      'execution.finished',
    ]);
    const retried = recorder.payloads.find((entry) => entry.event === 'step.retried')!.payload;
    expect(retried).toMatchObject({ executionId: id, position: 0, attempt: 1 });
    expect((retried.error as Error).message).toBe('flaky once');
    // The first attempt failed at the clock's start; its back-off is a minute.
    expect(retried.retryAt).toBe(Date.UTC(2030, 0, 1) + 60_000);
    expect(recorder.payloads.find((entry) => entry.event === 'step.dead_lettered')!.payload).toMatchObject({ reason: 'non-retryable error', name: 'Flaky.reject' });
    expect(recorder.payloads.at(-1)!.payload).toMatchObject({ executionId: id, workflowName: 'Pipeline', state: 'completed' });
    // The dead letter the event announced is in the queue.
    expect((await executor.listDeadLetters()).items).toHaveLength(1);
  });

  it('announces an execution dead-lettered for non-determinism before it finishes', async () => {
    const { harness, executor } = await start([Paths, Diverging, Recorder]);
    const recorder = moduleRef!.get(Recorder);
    const id = await executor.dispatch(Diverging, []);
    await harness.drain();
    codeVersion.path = 'b';
    // The replay runs the changed code against the journal.
    await harness.crash();
    await executor.sendSignal(id, 'go');
    await harness.drain();
    const outcome = await executor.waitFor(id, { timeout: '5s' });
    expect(outcome.error).toBeInstanceOf(NonDeterminismError);
    const tail = recorder.heard.slice(-2);
    expect(tail).toEqual(['execution.dead_lettered', 'execution.finished']);
    const event = recorder.payloads.at(-2)!.payload;
    expect(event).toMatchObject({ executionId: id, workflowName: 'Diverging', reason: 'non-determinism' });
    expect(event.error).toBeInstanceOf(NonDeterminismError);
  });

  it('a handler that throws or rejects is logged and the execution goes on', async () => {
    const errors: string[] = [];
    const { harness, executor } = await start([Flaky, Pipeline, Broken]);
    const spy = vi.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      errors.push(String(message));
    });
    try {
      const outcome = await harness.runToCompletion(await executor.dispatch(Pipeline, []));
      expect(outcome.unwrap()).toBe('fetched');
    } finally {
      spy.mockRestore();
    }
    expect(moduleRef!.get(Broken).calls).toBe(1);
    expect(errors.some((line) => line.includes("@OnStentEvent('step.completed') handler Broken.explode failed"))).toBe(true);
    expect(errors.some((line) => line.includes("@OnStentEvent('step.started') handler Broken.throwSync failed"))).toBe(true);
  });

  it('refuses an unknown event name at bootstrap', async () => {
    @Injectable()
    class Typo {
      @OnStentEvent('step.faild' as StentEventName) handle(): void {}
    }
    const failure = await start([Typo]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigurationError);
    expect((failure as Error).message).toMatch(/step\.faild.*unknown event/);
  });
});
