import 'reflect-metadata';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsoleLogger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Activity, NonDeterminismError, NonRetryableError, Stent, StentExecutor, Workflow } from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';

@Activity({ retry: { maxAttempts: 2, initialDelay: '1m', jitter: false } })
class Ledger {
  calls = 0;
  async post(entry: string): Promise<string> {
    if (++this.calls === 1) throw new Error('ledger busy');
    if (entry === 'bad') throw new NonRetryableError('entry refused');
    return `posted ${entry}`;
  }
}

@Workflow()
class Bookkeeping {
  constructor(private readonly ledger: Ledger) {}
  async run(entry: string): Promise<string> {
    return this.ledger.post(entry);
  }
}

const branch = { path: 'post' };
@Workflow()
class Wavering {
  constructor(private readonly ledger: Ledger) {}
  async run(): Promise<string> {
    if (branch.path === 'post') await this.ledger.post('x');
    else await Stent.sleep('1s');
    await Stent.waitForSignal('go');
    return 'done';
  }
}

interface JsonLine {
  level: string;
  context?: string;
  message: unknown;
  params?: Record<string, unknown>;
}

/** Nest's own ConsoleLogger in JSON mode, its lines captured from stdout and stderr. */
function jsonConsole(): { lines: JsonLine[]; restore: () => void } {
  const lines: JsonLine[] = [];
  const capture = (chunk: unknown): boolean => {
    for (const text of String(chunk).split('\n')) {
      if (!text.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(text) as JsonLine);
      } catch {
        // not one of the logger's lines
      }
    }
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
  return {
    lines,
    restore: () => {
      out.mockRestore();
      err.mockRestore();
    },
  };
}

describe("Stent's logs through Nest's Logger", () => {
  let moduleRef: TestingModule | undefined;
  let capture: ReturnType<typeof jsonConsole> | undefined;
  afterEach(async () => {
    capture?.restore();
    await moduleRef?.close();
    moduleRef = undefined;
    branch.path = 'post';
  });

  async function start(): Promise<{ harness: StentTestHarness; executor: StentExecutor }> {
    capture = jsonConsole();
    moduleRef = await Test.createTestingModule({ imports: [StentTestingModule.forRoot()], providers: [Ledger, Bookkeeping, Wavering] })
      .setLogger(new ConsoleLogger({ json: true }))
      .compile();
    await moduleRef.init();
    return { harness: moduleRef.get(StentTestHarness), executor: moduleRef.get(StentExecutor) };
  }

  it('a retry, a step failed for good and every attempt carry the execution and step ids as structured fields', async () => {
    const { harness, executor } = await start();
    const id = await executor.dispatch(Bookkeeping, ['bad']);
    await harness.runToCompletion(id);
    const [step] = await executor.store.loadJournal(id);
    const stent = capture!.lines.filter((line) => line.context === 'Stent');
    const ids = { executionId: id, stepId: step!.id, position: 0, activity: 'Ledger.post' };

    const retry = stent.find((line) => String(line.message).includes('retrying at'));
    expect(retry).toMatchObject({ level: 'log', params: { ...ids, attempt: 1 } });
    expect(retry!.message).toBe('Activity Ledger.post attempt 1 failed (ledger busy); retrying at 2030-01-01T00:01:00.000Z');

    const deadLetter = stent.find((line) => line.level === 'warn' && String(line.message).includes('dead-lettered'));
    expect(deadLetter).toMatchObject({ params: { ...ids, attempt: 2, workflow: 'Bookkeeping' } });
    expect(deadLetter!.message).toBe(`Step 'Ledger.post' (position 0) of execution ${id} of workflow Bookkeeping dead-lettered after 2 attempt(s) (non-retryable error): NonRetryableError: entry refused`);

    const attempts = stent.filter((line) => line.level === 'verbose' && String(line.message).startsWith('Activity Ledger.post attempt'));
    expect(attempts.map((line) => [line.message, line.params?.stepId, line.params?.attempt])).toEqual([
      ['Activity Ledger.post attempt 1 started', step!.id, 1],
      ['Activity Ledger.post attempt 2 started', step!.id, 2],
    ]);
    expect(stent.some((line) => line.level === 'verbose' && line.message === 'Execution of Bookkeeping started' && line.params?.executionId === id)).toBe(true);
  });

  it('an engine error about an execution (non-determinism) names it in its fields', async () => {
    const { harness, executor } = await start();
    const id = await executor.dispatch(Wavering, []);
    await harness.runToCompletion(id).catch(() => undefined);
    branch.path = 'sleep';
    await harness.crash();
    await executor.sendSignal(id, 'go');
    await harness.drain();
    expect((await executor.waitFor(id, { timeout: '5s' })).error).toBeInstanceOf(NonDeterminismError);
    const line = capture!.lines.find((entry) => entry.context === 'Stent' && entry.level === 'error' && String(entry.message).includes('Non-deterministic'));
    expect(line).toMatchObject({ params: { executionId: id, workflow: 'Wavering' } });
  });
});
