import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StentExecutor } from 'nestjs-stent';
import { ExecutorSet, QUICK_WORKER } from '../support/executor-set.js';
import { stentBin } from '../support/stent-cli.js';
import { waitUntil } from '../support/wait.js';
import { Approval, operatingInstances } from '../fixtures/operating-flows.js';

/**
 * The bin on a pseudo-terminal of 80 x 24 (util-linux `script`), so stdin and stdout are TTYs as in an
 * operator's shell. `type` writes keystrokes to it; the run ends when the bin exits.
 */
function onTerminal(args: string[]) {
  const quoted = [process.execPath, stentBin(), ...args].map((arg) => `'${arg.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qefc', `stty cols 80 rows 24; exec ${quoted}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '' } });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    output: () => output,
    type: (keys: string) => child.stdin.write(keys),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

describe('the stent CLI on a terminal', () => {
  let set: ExecutorSet;
  let executor: StentExecutor;
  let running: string;

  beforeAll(async () => {
    set = await ExecutorSet.create('sqlite');
    executor = await set.executor(operatingInstances(), QUICK_WORKER);
    running = await executor.dispatch(Approval, ['on a terminal']);
    await waitUntil(async () => (await executor.getExecution(running)).progress, 'the approval to wait for its signal');
  });
  afterAll(async () => {
    await set?.dispose();
  });

  it('asks before a change: anything but yes refuses (exit 6), yes goes ahead', async () => {
    const no = onTerminal(['cancel', running, '--database', set.db.url]);
    await waitUntil(() => no.output().includes('[y/N]'), 'the question', 30_000).catch((error) => (no.kill(), Promise.reject(error)));
    expect(no.output()).toContain(`Cancel execution ${running} (Approval, running)? [y/N]`);
    no.type('n\r');
    expect(await no.exited).toBe(6);
    expect(no.output()).toMatch(/stent: Cancel execution .*: not confirmed \[STENT_CLI_NOT_CONFIRMED\]/);
    expect((await executor.getExecution(running)).state).toBe('running');

    const yes = onTerminal(['signal', running, 'approve', '"fine"', '--database', set.db.url]);
    await waitUntil(() => yes.output().includes('[y/N]'), 'the question', 30_000).catch((error) => (yes.kill(), Promise.reject(error)));
    yes.type('y\r');
    expect(await yes.exited).toBe(0);
    expect(yes.output()).toContain(`Sent signal 'approve' to ${running}.`);
    expect(await executor.waitFor(running, { timeout: '30s' })).toMatchObject({ ok: true, value: { request: 'on a terminal', payload: 'fine' } });
  });

  it('watch redraws in place, in colour, within the terminal, and quits on Ctrl+C giving the screen back', async () => {
    const busy = await executor.dispatch(Approval, ['watched']);
    await waitUntil(async () => (await executor.getExecution(busy)).progress, 'the approval to report progress');
    const watch = onTerminal(['watch', '--interval', '200ms', '--database', set.db.url]);
    const frames = () => watch.output().split('\u001b[H').length - 1;
    await waitUntil(() => frames() >= 2, 'two frames', 30_000).catch((error) => (watch.kill(), Promise.reject(error)));
    watch.type('\u0003');
    expect(await watch.exited).toBe(0);
    const output = watch.output();
    // The alternate screen with the cursor hidden, each frame drawn from the top-left, then all undone.
    expect(output.startsWith('\u001b[?1049h\u001b[?25l\u001b[2J') || output.includes('\u001b[?1049h\u001b[?25l\u001b[2J')).toBe(true);
    expect(output.trimEnd().endsWith('\u001b[?25h\u001b[?1049l')).toBe(true);
    const frame = output.split('\u001b[H')[1]!.split('\u001b[J')[0]!;
    const lines = frame.split(/\r?\n/).map((line) => line.replace(/\u001b\[K/g, ''));
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const line of lines) expect(line.replace(/\u001b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(80);
    expect(frame).toContain('(Ctrl+C to quit)');
    expect(frame).toMatch(/\u001b\[1mRunning \(1\)/);
    expect(frame).toContain(busy.slice(0, 20));
    expect(frame.replace(/\u001b\[[0-9;]*m/g, '')).toMatch(/█{5}░{5}\s+50%/);
    await executor.cancel(busy);
  });
});
