import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAllProcesses, printedOutcome, readJournal, readTrace, runSample, sampleEnv, SampleProcess, traceAcrossRestart } from './sample-process.js';

const SAMPLE = 'media-pipeline';
const FILES = (video: string) => ['1080p.mp4', '720p.mp4', '480p.mp4', 'thumbnail-640.jpg'].map((file) => `s3://media/${video}/${file}`);
/** Long enough that the parallel branches visibly overlap on a busy machine. */
const WORK = { MEDIA_WORK_MS: '900', MEDIA_RELEASE_DELAY: '1s' };

const stagesIn = (stdout: string) => stdout.split('\n').flatMap((line) => /^stage: (.+)$/.exec(line)?.[1] ?? []);
const lineIndex = (stdout: string, text: string) => {
  const index = stdout.indexOf(text);
  if (index < 0) throw new Error(`"${text}" not printed:\n${stdout}`);
  return index;
};

describe('sample/media-pipeline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-media-'));
  afterEach(killAllProcesses);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('transcodes every format while it makes the thumbnail, waits for approval and the release time, and publishes', async () => {
    const env = sampleEnv(dir, 'approve.db', WORK);
    const { stdout } = await runSample(SAMPLE, ['v-approve', 'approve'], env);
    expect(printedOutcome(stdout)).toMatchObject({
      state: 'completed',
      ok: true,
      value: { videoId: 'v-approve', url: 'https://cdn.example.com/watch/v-approve', formats: ['1080p', '720p', '480p'], thumbnail: FILES('v-approve')[3], approvedBy: 'ops@example.com' },
    });
    // Parallel branches: all three transcodes and the frame extraction run before any transcode is done.
    const firstDone = Math.min(...['1080p', '720p', '480p'].map((format) => lineIndex(stdout, `transcode ${format}: done`)));
    for (const format of ['1080p', '720p', '480p']) expect(lineIndex(stdout, `transcode ${format}: started`)).toBeLessThan(firstDone);
    expect(lineIndex(stdout, 'thumbnail: frame at')).toBeLessThan(firstDone);
    expect(lineIndex(stdout, 'thumbnail: rendered')).toBeGreaterThan(lineIndex(stdout, 'thumbnail: frame at'));
    // Then the approval, the durable sleep, the publication.
    expect(stagesIn(stdout).slice(-4)).toEqual(['awaiting approval', 'waiting for release', 'publishing', 'published']);
    expect(lineIndex(stdout, 'publish: "')).toBeGreaterThan(lineIndex(stdout, 'reviewer ops@example.com: approved'));
    expect(stdout).toMatch(/signal\s+approval\s+completed/);
    expect(stdout).toMatch(/sleep\s+sleep\s+completed/);
  });

  it('on rejection, deletes what it made and ends completed with an error Result', async () => {
    const env = sampleEnv(dir, 'reject.db', WORK);
    const { stdout } = await runSample(SAMPLE, ['v-reject', 'reject'], env);
    expect(printedOutcome(stdout)).toMatchObject({
      state: 'completed',
      ok: false,
      error: { videoId: 'v-reject', reason: 'audio is out of sync', reviewer: 'ops@example.com', discarded: FILES('v-reject') },
    });
    expect(stagesIn(stdout).slice(-3)).toEqual(['awaiting approval', 'discarding', 'discarded']);
    expect(stdout).not.toMatch(/publish:/);
  });

  it('with no decision before the approval time-out, discards the video', async () => {
    const env = sampleEnv(dir, 'timeout.db', { ...WORK, MEDIA_APPROVAL_TIMEOUT: '1s' });
    const { stdout } = await runSample(SAMPLE, ['v-timeout', 'none'], env);
    expect(printedOutcome(stdout)).toMatchObject({ state: 'completed', ok: false, error: { reason: 'no decision within 1s', reviewer: 'nobody', discarded: FILES('v-timeout') } });
    expect(stdout).not.toMatch(/publish:/);
  });

  it('a second command sends the approval the first one waits for', async () => {
    const env = sampleEnv(dir, 'second-command.db', WORK);
    const waiting = new SampleProcess(SAMPLE, ['v-two', 'none'], env);
    await waiting.waitForOutput(/waiting for a decision/);
    const approving = await runSample(SAMPLE, ['v-two', 'approve'], env);
    expect(approving.stdout).toMatch(/reviewer ops@example.com: approved/);
    expect(await waiting.exited).toEqual({ code: 0, signal: null });
    const [first, second] = [printedOutcome(waiting.stdout), printedOutcome(approving.stdout)];
    expect(second.executionId).toBe(first.executionId);
    expect(first).toMatchObject({ state: 'completed', ok: true, value: { approvedBy: 'ops@example.com' } });
    expect(second.value).toEqual(first.value);
    // One pipeline ran, whichever process ran each step.
    expect(readTrace(env).filter((entry) => entry.line.startsWith('transcode 1080p: done'))).toHaveLength(1);
  });

  it('killed while it waits for approval, continues when started again and approved, without transcoding again', async () => {
    const env = sampleEnv(dir, 'crash-approval.db', WORK);
    const first = new SampleProcess(SAMPLE, ['v-crash', 'none'], env);
    const executionId = (await first.waitForOutput(/execution (\S+) started/))[1];
    await first.waitForOutput(/stage: awaiting approval/);
    await first.kill();
    const completed = (await readJournal(env, executionId)).filter((entry) => entry.kind === 'activity' && entry.state === 'completed');
    expect(completed.map((entry) => entry.name).sort()).toEqual(['ArtworkActivities.extractFrame', 'ArtworkActivities.renderThumbnail', 'TranscodingActivities.probe', ...Array(3).fill('TranscodingActivities.transcode')].sort());

    const { stdout } = await runSample(SAMPLE, ['v-crash', 'approve'], env);
    expect(printedOutcome(stdout)).toMatchObject({ executionId, state: 'completed', ok: true, value: { formats: ['1080p', '720p', '480p'] } });
    const { before, after } = traceAcrossRestart(env);
    expect(before.filter((entry) => entry.line.startsWith('transcode'))).toHaveLength(6);
    expect(after.map((entry) => entry.line)).toEqual(['publish: "Durable workflows in ten minutes" is live at https://cdn.example.com/watch/v-crash']);
  });

  it('killed during the release sleep, publishes after a restart once the recorded wake-up time has passed, without redoing earlier steps', async () => {
    const env = sampleEnv(dir, 'crash-sleep.db', { ...WORK, MEDIA_RELEASE_DELAY: '4s' });
    const first = new SampleProcess(SAMPLE, ['v-sleep', 'approve'], env);
    const executionId = (await first.waitForOutput(/execution (\S+) started/))[1];
    await first.waitForOutput(/stage: waiting for release/);
    await first.kill();
    const sleep = (await readJournal(env, executionId)).find((entry) => entry.kind === 'sleep');
    expect(sleep?.state).not.toBe('completed');
    const wakeAt = sleep!.fireAt!.getTime();

    const { stdout } = await runSample(SAMPLE, ['v-sleep', 'approve'], env);
    expect(printedOutcome(stdout)).toMatchObject({ executionId, state: 'completed', ok: true, value: { approvedBy: 'ops@example.com' } });
    // The restarted process found the approval already recorded: it sent none of its own.
    expect(stdout).not.toMatch(/reviewer ops@example.com/);
    const { after } = traceAcrossRestart(env);
    expect(after.map((entry) => entry.line)).toEqual(['publish: "Durable workflows in ten minutes" is live at https://cdn.example.com/watch/v-sleep']);
    expect(after[0].at).toBeGreaterThanOrEqual(wakeAt);
  });
});
