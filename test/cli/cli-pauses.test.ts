import { describe, expect, it } from 'vitest';
import type { StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { QUICK_WORKER } from '../support/executor-set.js';
import { Mailer, pauseInstances } from '../fixtures/pause-flows.js';
import { cliBench } from './cli-bench.js';

describe.each(DIALECTS)('stent pause / resume / paused on %s', (dialect) => {
  let executor: StentExecutor;
  const { stent } = cliBench(dialect, async (set) => {
    executor = await set.executor(pauseInstances(), { ...QUICK_WORKER, queues: ['default', 'mail'] });
  });

  it('pauses and resumes a queue and a workflow type, lists what is paused, and held work runs after the resume', async () => {
    expect((await stent('paused')).stdout).toBe('Nothing is paused.\n');
    expect((await stent('pause', 'queue', 'mail')).code).toBe(6);
    expect((await stent('pause', 'queue', 'mail', '--yes')).stdout).toBe("Paused queue 'mail'.\n");
    expect((await stent('pause', 'queue', 'mail', '--yes')).stdout).toBe("queue 'mail' was paused already.\n");
    expect(JSON.parse((await stent('pause', 'workflow', 'Digest', '--yes', '--json')).stdout)).toEqual({ kind: 'workflow', name: 'Digest', paused: true, changed: true });
    const list = await stent('paused');
    expect(list.stdout).toMatch(/^KIND\s+NAME\s+PAUSED AT\nqueue\s+mail\s+\d{4}-.*\nworkflow\s+Digest\s+\d{4}-/);

    const id = await executor.dispatch(Mailer, ['held', 1]);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await executor.getExecution(id)).state).toBe('pending');
    expect((await stent('resume', 'queue', 'mail', '--yes')).stdout).toBe("Resumed queue 'mail'.\n");
    expect((await executor.waitFor(id, { timeout: '30s' })).state).toBe('completed');
    expect((await stent('resume', 'workflow', 'Digest', '--yes')).code).toBe(0);
    expect(JSON.parse((await stent('paused', '--json')).stdout)).toEqual({ items: [] });
    expect((await stent('pause', 'queue', '--yes')).code).toBe(2);
  });
});
