import { describe, expect, it } from 'vitest';
import { Stent, Workflow } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { waitUntil } from '../support/wait.js';
import { AUTH, call } from './admin-app.js';
import { guardedAdmin } from './guarded-admin.js';

/** Publishes 'ready', then one line per 'say' signal until 'done' closes the stream. */
@Workflow({ name: 'Narrator' })
export class NarratorFlow {
  async run(title: string): Promise<number> {
    Stent.setEvent('ready', { title, at: new Date(Date.UTC(2030, 0, 1)) });
    let lines = 0;
    for (;;) {
      const said = await Stent.waitForSignal<string | null>('say');
      if (said === null) break;
      Stent.writeStream('lines', { n: lines++, said });
    }
    Stent.closeStream('lines');
    return lines;
  }
}

interface SseEvent {
  id?: string;
  event?: string;
  data?: unknown;
}

/** Reads a server-sent event stream over real HTTP as it arrives; `done` resolves when the server ends it. */
function openStream(url: string, headers: Record<string, string> = AUTH) {
  const events: SseEvent[] = [];
  const done = (async () => {
    const response = await fetch(url, { headers });
    if (response.status !== 200) return { status: response.status, body: await response.json() };
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += value;
      let split: number;
      while ((split = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        const event: SseEvent = {};
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const field = line.slice(0, colon);
          const text = line.slice(colon + 1).trimStart();
          if (field === 'id') event.id = text;
          else if (field === 'event') event.event = text;
          else if (field === 'data') event.data = JSON.parse(text);
        }
        if (event.data !== undefined || event.event) events.push(event);
      }
    }
    return { status: 200, contentType: response.headers.get('content-type') };
  })();
  return { events, done };
}

describe.each(DIALECTS)('admin API: events and streams (SSE) on %s', (dialect) => {
  const open = guardedAdmin(dialect, [NarratorFlow]);

  it('serves an event once set and a stream as server-sent events that end when the workflow closes it; resumes after Last-Event-ID', async () => {
    const { base } = await open();
    const created = await call(`${base}/executions`, 'POST', { workflow: 'Narrator', args: ['tale'] });
    const id = created.body.id as string;

    const live = openStream(`${base}/executions/${id}/streams/lines`);
    const ready = await call(`${base}/executions/${id}/events/ready?timeout=20s`);
    expect(ready).toEqual({ status: 200, body: { executionId: id, key: 'ready', value: { title: 'tale', at: '2030-01-01T00:00:00.000Z' } } });
    const missing = await call(`${base}/executions/${id}/events/never`);
    expect(missing.status).toBe(504);
    expect(missing.body.code).toBe('STENT_EVENT_TIMEOUT');

    for (const said of ['once', 'upon', 'a time']) {
      await call(`${base}/executions/${id}/signals`, 'POST', { name: 'say', payload: said });
      await waitUntil(() => live.events.some((event) => (event.data as { said?: string })?.said === said), `'${said}' to arrive`);
    }
    await call(`${base}/executions/${id}/signals`, 'POST', { name: 'say', payload: null });
    expect(await live.done).toEqual({ status: 200, contentType: expect.stringContaining('text/event-stream') });
    expect(live.events).toEqual([
      { id: '0', data: { n: 0, said: 'once' } },
      { id: '1', data: { n: 1, said: 'upon' } },
      { id: '2', data: { n: 2, said: 'a time' } },
      { event: 'end', id: '2', data: {} },
    ]);

    // An EventSource that reconnects sends the last id it saw: it gets the rest, then the end.
    const resumed = openStream(`${base}/executions/${id}/streams/lines`, { ...AUTH, 'last-event-id': '1' });
    await resumed.done;
    expect(resumed.events).toEqual([{ id: '2', data: { n: 2, said: 'a time' } }, { event: 'end', id: '2', data: {} }]);
    const fromQuery = openStream(`${base}/executions/${id}/streams/lines?from=3`);
    await fromQuery.done;
    expect(fromQuery.events).toEqual([{ event: 'end', id: '2', data: {} }]);
  });

  it('refuses an unknown execution (404), a bad start (400) and a request without credentials (401) before streaming', async () => {
    const { base } = await open();
    const unknown = await openStream(`${base}/executions/nope/streams/lines`).done;
    expect(unknown).toMatchObject({ status: 404, body: { code: 'STENT_EXECUTION_NOT_FOUND' } });
    const id = (await call(`${base}/executions`, 'POST', { workflow: 'Narrator', args: ['x'] })).body.id as string;
    expect(await openStream(`${base}/executions/${id}/streams/lines?from=-1`).done).toMatchObject({ status: 400 });
    expect(await openStream(`${base}/executions/${id}/streams/lines`, {}).done).toMatchObject({ status: 401 });
    expect((await call(`${base}/executions/${id}/events/ready?timeout=2h`)).status).toBe(400);
    await call(`${base}/executions/${id}/cancel`, 'POST');
  });
});
