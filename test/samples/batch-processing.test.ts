import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAllProcesses, printedOutcome, readJournal, readTrace, runSample, sampleEnv, SampleProcess, traceAcrossRestart, type TraceLine } from './sample-process.js';

const SAMPLE = 'batch-processing';

/** The sample's simulated card processor declines accounts 7, 22, 37, ... and times out once on 3, 13, 23, ... */
const declined = (size: number) => Array.from({ length: size }, (_, index) => index + 1).filter((n) => n % 15 === 7);
const accountId = (batch: string, n: number) => `${batch}/acct-${String(n).padStart(4, '0')}`;
const charged = (trace: TraceLine[]) => trace.flatMap((entry) => /^charged (\S+)/.exec(entry.line)?.[1] ?? []);

describe('sample/batch-processing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-batch-'));
  afterEach(killAllProcesses);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('charges every account of the batch, reports progress, lists the declined ones without failing the run and sums up', async () => {
    // Charges slow enough that the sample's watcher (a poll every 100 ms) sees the batch mid-way on a busy machine.
    const env = sampleEnv(dir, 'batch.db', { BATCH_RETRY_DELAY: '50ms', BATCH_ITEM_LATENCY_MS: '500' });
    const { stdout } = await runSample(SAMPLE, ['b60', '60'], env);
    const failed = declined(60).map((n) => ({ accountId: accountId('b60', n), reason: 'card declined: expired' }));
    const outcome = printedOutcome(stdout);
    expect(outcome).toMatchObject({ state: 'completed', ok: true, value: { batchId: 'b60', accounts: 60, billed: 60 - failed.length, receiptsSent: 60 - failed.length, failed } });

    // Every account not declined was charged exactly once by its activity body, and its receipt sent once.
    const trace = readTrace(env);
    const billed = charged(trace);
    expect(new Set(billed).size).toBe(billed.length);
    expect(billed.sort()).toEqual(Array.from({ length: 60 }, (_, i) => i + 1).filter((n) => n % 15 !== 7).map((n) => accountId('b60', n)).sort());
    expect(trace.filter((entry) => entry.line.startsWith('receipt'))).toHaveLength(billed.length);
    expect(outcome.value.billedCents).toBe(trace.filter((entry) => entry.line.startsWith('charged')).reduce((sum, entry) => sum + Number(/(\d+) cents/.exec(entry.line)![1]), 0));

    // The gateway's time-outs were retried; the declines were not.
    expect(trace.filter((entry) => /gateway timeout/.test(entry.line)).map((entry) => entry.line.split(':')[0])).toEqual(expect.arrayContaining([3, 13, 23, 33, 43, 53].map((n) => accountId('b60', n))));
    expect(stdout).toMatch(/BillingActivities\.chargeAccount x60\s+56 completed, 4 failed; 6 needed a retry/);

    // Progress and counters were visible from outside while the run went on, ending with the totals.
    const progress = stdout.split('\n').filter((line) => line.startsWith('progress:'));
    expect(progress.at(-1)).toBe('progress: done 60/60 (billed 56, failed 4)');
    expect(progress.some((line) => line.startsWith('progress: charging'))).toBe(true);
  });

  it('killed in the middle of the batch, continues on restart without charging again the accounts already charged', async () => {
    const env = sampleEnv(dir, 'crash.db', { BATCH_ITEM_LATENCY_MS: '150', BATCH_RETRY_DELAY: '50ms' });
    const first = new SampleProcess(SAMPLE, ['b-crash', '120'], env);
    const executionId = (await first.waitForOutput(/execution (\S+) started/))[1];
    await first.waitForOutput(/progress: charging ([2-9]\d|1[01]\d)\/120/);
    await first.kill();

    const journal = await readJournal(env, executionId);
    const chargedBeforeCrash = journal.filter((entry) => entry.name === 'BillingActivities.chargeAccount' && entry.state === 'completed').map((entry) => (entry.args as [{ id: string }])[0].id);
    // Killed mid-batch: some charges recorded (progress counts the declined ones too), not all.
    expect(chargedBeforeCrash.length).toBeGreaterThan(0);
    expect(chargedBeforeCrash.length).toBeLessThan(112);

    const { stdout } = await runSample(SAMPLE, ['b-crash', '120'], env);
    const outcome = printedOutcome(stdout);
    expect(outcome).toMatchObject({ executionId, state: 'completed', ok: true, value: { accounts: 120, billed: 112, receiptsSent: 112 } });
    expect(outcome.value.failed.map((failure: { accountId: string }) => failure.accountId)).toEqual(declined(120).map((n) => accountId('b-crash', n)));

    const { before, after } = traceAcrossRestart(env);
    expect(charged(after).filter((id) => chargedBeforeCrash.includes(id))).toEqual([]);
    // Between them, the two processes charged every billable account; only a charge in flight at the kill may have run twice.
    const all = [...charged(before), ...charged(after)];
    expect(new Set(all).size).toBe(112);
    expect(all.length - 112).toBeLessThanOrEqual(10);
  });
});
