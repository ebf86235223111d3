import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow, EventNotSetError, EventTimeoutError, ExecutionNotFoundError, Stent, type StentExecutor, type StreamChunk } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, openClient, rejectionOf, REPLAYING_WORKER, type Harness } from '../support/executor-set.js';
import { onDatabase } from '../support/table-rows.js';
import { finalStateOf, waitUntil } from '../support/wait.js';
import { FlakyActs, fixFlaky, resetFlaky } from '../fixtures/flaky-acts.js';

class Publishing {
  async run(chunks: number): Promise<string> {
    Stent.setEvent('status', { stage: 'started', at: new Date(0) });
    for (let i = 0; i < chunks; i++) {
      Stent.writeStream('tokens', `t${i}`);
      // Each wait suspends the run (REPLAYING_WORKER): the rest is reached by replays of everything before.
      if (i % 2 === 1) await Stent.waitForSignal('more');
    }
    Stent.setEvent('status', { stage: 'streamed' });
    Stent.closeStream('tokens');
    await Stent.waitForSignal('finish');
    return 'done';
  }
}
defineWorkflow(Publishing, { name: 'EventsStreamsPublishing' });

class Unclosed {
  async run(): Promise<string> {
    Stent.writeStream('log', 1);
    Stent.writeStream('log', 2);
    Stent.closeStream('other');
    try {
      Stent.writeStream('other', 'late');
    } catch (error) {
      return (error as { code: string }).code;
    }
    return 'written';
  }
}
defineWorkflow(Unclosed, { name: 'EventsStreamsUnclosed' });

/** Publishes on both paths: a failure path (forgotten when its dead letter is replayed) and the success path. */
class PublishesOutcome {
  constructor(private readonly acts: FlakyActs) {}
  async run(): Promise<string> {
    Stent.setEvent('status', 'started');
    Stent.writeStream('log', 'start');
    try {
      const value = await this.acts.flaky();
      Stent.setEvent('status', 'done');
      Stent.writeStream('log', 'done');
      return value;
    } catch (error) {
      Stent.setEvent('status', 'compensating');
      Stent.setEvent('audit', 'failure seen');
      Stent.writeStream('log', 'compensating');
      Stent.writeStream('log', 'rolled back');
      throw error;
    }
  }
}
defineWorkflow(PublishesOutcome, { name: 'EventsStreamsPublishesOutcome' });

async function collect<T>(iterator: AsyncIterable<StreamChunk<T>>): Promise<Array<StreamChunk<T>>> {
  const out: Array<StreamChunk<T>> = [];
  for await (const chunk of iterator) out.push(chunk);
  return out;
}

describe.each(DIALECTS)('durable events and streams on %s', (dialect) => {
  let harness: Harness;
  let client: StentExecutor;
  afterEach(async () => {
    await client?.close('2s').catch(() => undefined);
    await harness?.dispose();
  });

  it('a reader elsewhere gets every chunk once, in order, through replays; events resolve when set and keep the latest value', async () => {
    harness = await createHarness(dialect, [new Publishing(), new Unclosed()], REPLAYING_WORKER);
    client = await openClient(harness.db);
    const id = await harness.executor.dispatch(Publishing, [6]);
    // Started before anything is written: both wait for the workflow.
    const reading = collect(client.readStream<string>(id, 'tokens'));
    const first = await client.getEvent<{ stage: string; at: Date }>(id, 'status', { timeout: '20s' });
    expect(first.stage).toBe('started');
    expect(first.at).toBeInstanceOf(Date);
    for (let round = 0; round < 3; round++) {
      await waitUntil(async () => (await client.getJournal(id)).filter((step) => step.kind === 'signal' && step.state === 'waiting').length === 1, `wait ${round}`);
      await waitUntil(async () => (await client.getExecution(id)).leaseOwner === null, 'the run to suspend');
      await client.sendSignal(id, 'more');
      await waitUntil(async () => (await client.getJournal(id)).filter((step) => step.kind === 'signal').length > round + 1, `signal ${round} taken`);
    }
    const chunks = await reading;
    expect(chunks).toEqual([0, 1, 2, 3, 4, 5].map((index) => ({ index, value: `t${index}` })));
    expect(await client.getEvent(id, 'status')).toEqual({ stage: 'streamed' });
    // From a later index: a reader that resumes after what it saw.
    expect((await collect(client.readStream(id, 'tokens', { from: 4 }))).map((chunk) => chunk.index)).toEqual([4, 5]);
    // Replays recorded nothing twice: one step per write and per set.
    const journal = await client.getJournal(id);
    expect(journal.filter((step) => step.name === 'stream:tokens')).toHaveLength(6);
    expect(journal.filter((step) => step.name === 'event:status')).toHaveLength(2);
    await client.sendSignal(id, 'finish');
    expect((await client.waitFor(id, { timeout: '20s' })).value).toBe('done');
  });

  it('a stream the workflow never closes ends with the execution; writing after close is refused', async () => {
    harness = await createHarness(dialect, [new Publishing(), new Unclosed()], REPLAYING_WORKER);
    const id = await harness.executor.dispatch(Unclosed, []);
    expect((await harness.executor.waitFor(id, { timeout: '20s' })).value).toBe('STENT_STREAM_CLOSED');
    expect(await collect(harness.executor.readStream(id, 'log'))).toEqual([
      { index: 0, value: 1 },
      { index: 1, value: 2 },
    ]);
    expect(await collect(harness.executor.readStream(id, 'other'))).toEqual([]);
    expect(await collect(harness.executor.readStream(id, 'never-written'))).toEqual([]);
    // Retention removes what a finished execution published with it.
    const published = () => onDatabase(harness.db, async (_sql, scalar, t) => (await scalar(`SELECT COUNT(*) FROM ${t.streams} WHERE execution_id = ?`, [id])) + (await scalar(`SELECT COUNT(*) FROM ${t.events}`)));
    expect(await published()).toBe(3);
    await harness.executor.cleanup({ olderThan: 0 });
    expect(await published()).toBe(0);
  });

  it('a reader that aborts while the stream is quiet stops at once, without an error', async () => {
    harness = await createHarness(dialect, [new Publishing(), new Unclosed()], REPLAYING_WORKER);
    const id = await harness.executor.dispatch(Publishing, [2]);
    const stop = new AbortController();
    const seen: unknown[] = [];
    const reading = (async () => {
      for await (const chunk of harness.executor.readStream(id, 'tokens', { signal: stop.signal, pollInterval: '1h' })) {
        seen.push(chunk.value);
        if (seen.length === 2) setTimeout(() => stop.abort(), 50);
      }
      return 'ended';
    })();
    expect(await reading).toBe('ended');
    expect(seen).toEqual(['t0', 't1']);
    expect((await harness.executor.getExecution(id)).state).toBe('running');
    await harness.executor.cancel(id);
  });

  it('a dead-letter replay forgets what the failure path published: the event and the stream follow the success path', async () => {
    const acts = new FlakyActs();
    harness = await createHarness(dialect, [acts, new PublishesOutcome(acts)], REPLAYING_WORKER);
    try {
      const { executor } = harness;
      const id = await executor.dispatch(PublishesOutcome, []);
      expect(await finalStateOf(executor, id)).toBe('failed');
      expect(await executor.getEvent(id, 'status')).toBe('compensating');
      expect((await collect(executor.readStream(id, 'log'))).map((chunk) => chunk.value)).toEqual(['start', 'compensating', 'rolled back']);
      expect(await executor.getEvent(id, 'audit')).toBe('failure seen');
      fixFlaky();
      const [letter] = (await executor.dlq.list({ executionId: id })).items;
      await executor.dlq.replay(letter!.id);
      expect(await finalStateOf(executor, id)).toBe('completed');
      expect(await executor.getEvent(id, 'status')).toBe('done');
      expect(await collect(executor.readStream(id, 'log'))).toEqual([
        { index: 0, value: 'start' },
        { index: 1, value: 'done' },
      ]);
      // Set only by the forgotten path: gone with it.
      expect(await rejectionOf(executor.getEvent(id, 'audit'))).toBeInstanceOf(EventNotSetError);
    } finally {
      resetFlaky();
    }
  });

  it('getEvent: typed errors for an event never set, its own timeout, and an unknown execution', async () => {
    harness = await createHarness(dialect, [new Publishing(), new Unclosed()], REPLAYING_WORKER);
    const { executor } = harness;
    const ended = await executor.dispatch(Unclosed, []);
    await executor.waitFor(ended, { timeout: '20s' });
    const notSet = await rejectionOf(executor.getEvent(ended, 'status'));
    expect(notSet).toBeInstanceOf(EventNotSetError);
    expect((notSet as EventNotSetError).code).toBe('STENT_EVENT_NOT_SET');

    const running = await executor.dispatch(Publishing, [2]);
    await executor.getEvent(running, 'status', { timeout: '20s' });
    const timedOut = await rejectionOf(executor.getEvent(running, 'never', { timeout: '200ms' }));
    expect(timedOut).toBeInstanceOf(EventTimeoutError);
    expect((timedOut as EventTimeoutError).code).toBe('STENT_EVENT_TIMEOUT');
    expect(await rejectionOf(executor.getEvent('no-such-execution', 'status'))).toBeInstanceOf(ExecutionNotFoundError);
    expect(await rejectionOf(collect(executor.readStream('no-such-execution', 'tokens')))).toBeInstanceOf(ExecutionNotFoundError);
    await executor.cancel(running);
  });
});
