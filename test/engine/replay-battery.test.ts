import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, FAST_WORKER } from '../support/executor-set.js';
import { evidence, replayFlowInstances, AnyThenSettled, LoopingBranches, ChildSignalTimerRace, TwoInFlightPool } from '../fixtures/replay-flows.js';

type Flow = typeof AnyThenSettled | typeof LoopingBranches | typeof TwoInFlightPool | typeof ChildSignalTimerRace;
const FLOWS: Array<[string, Flow]> = [
  ['AnyThenSettled', AnyThenSettled],
  ['LoopingBranches', LoopingBranches],
  ['TwoInFlightPool', TwoInFlightPool],
  ['ChildSignalTimerRace', ChildSignalTimerRace],
];

export async function checkExecution(executor: StentExecutor, id: string, dir: string) {
  const result = await executor.waitFor<string[]>(id, { timeout: '30s' });
  const info = await executor.getExecution(id);
  const stored = Object.keys(info.customState)
    .map((key) => [Number(key.slice(0, key.indexOf(':'))), key.slice(key.indexOf(':') + 1)] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, what]) => what);
  const runs = evidence(dir).filter((e) => e.executionId === id || e.executionId.startsWith(`${id}.`));
  const perTag = new Map<string, number>();
  for (const run of runs) perTag.set(`${run.executionId}#${run.tag}`, (perTag.get(`${run.executionId}#${run.tag}`) ?? 0) + 1);
  const duplicates = [...perTag].filter(([, n]) => n > 1).map(([tag]) => tag);
  return { state: result.state, error: result.error?.message, trace: result.value, stored, duplicates };
}

describe.each(DIALECTS)('replay fidelity battery on %s', (dialect) => {
  let set: ExecutorSet;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'replay-evidence-'));
    process.env.STENT_TEST_EVIDENCE_DIR = dir;
  });
  afterEach(async () => {
    await set?.dispose();
    delete process.env.STENT_TEST_EVIDENCE_DIR;
    rmSync(dir, { recursive: true, force: true });
  });

  it('replays after suspension reproduce the trace, with no duplicate activity runs', async () => {
    set = await ExecutorSet.create(dialect);
    const executor = await set.executor(replayFlowInstances(), FAST_WORKER);
    const ids: Array<[string, string]> = [];
    for (const [name, flow] of FLOWS) for (let k = 0; k < 4; k++) ids.push([`${name}#${k}`, await executor.dispatch(flow as typeof AnyThenSettled, [k])]);
    for (const [label, id] of ids) if (label.startsWith('ChildSignalTimerRace')) setTimeout(() => void executor.sendSignal(id, 'go', label).catch(() => {}), 60 * Number(label.slice(-1)) + 100);
    const failures: unknown[] = [];
    for (const [label, id] of ids) {
      const check = await checkExecution(executor, id, dir);
      if (check.state !== 'completed' || JSON.stringify(check.trace) !== JSON.stringify(check.stored) || check.duplicates.length > 0) failures.push({ label, ...check });
    }
    expect(failures).toEqual([]);
  });

  it('replays after worker restarts mid-flight reproduce the trace, with no duplicate activity runs', async () => {
    set = await ExecutorSet.create(dialect);
    let executor = await set.executor(replayFlowInstances(), FAST_WORKER);
    const ids: Array<[string, string]> = [];
    for (const [name, flow] of FLOWS) for (let k = 0; k < 3; k++) ids.push([`${name}#${k}`, await executor.dispatch(flow as typeof AnyThenSettled, [k])]);
    for (const [label, id] of ids) if (label.startsWith('ChildSignalTimerRace')) setTimeout(() => void executor.sendSignal(id, 'go', label).catch(() => {}), 60 * Number(label.slice(-1)) + 100);
    for (const pause of [130, 210, 170, 260]) {
      await new Promise((resolve) => setTimeout(resolve, pause)); // restart at arbitrary moments (not a wait for a condition)
      await executor.close('5s');
      executor = await set.executor(replayFlowInstances(), FAST_WORKER);
    }
    const failures: unknown[] = [];
    for (const [label, id] of ids) {
      const check = await checkExecution(executor, id, dir);
      if (check.state !== 'completed' || JSON.stringify(check.trace) !== JSON.stringify(check.stored) || check.duplicates.length > 0) failures.push({ label, ...check });
    }
    expect(failures).toEqual([]);
  });

  it('with two workers sharing the database (runs and activities hop between them) the traces hold', async () => {
    set = await ExecutorSet.create(dialect);
    const a = await set.executor(replayFlowInstances(), { ...FAST_WORKER, concurrency: 3 });
    const b = await set.executor(replayFlowInstances(), { ...FAST_WORKER, concurrency: 3 });
    const ids: Array<[string, string]> = [];
    for (const [name, flow] of FLOWS) for (let k = 0; k < 4; k++) ids.push([`${name}#${k}`, await (k % 2 ? a : b).dispatch(flow as typeof AnyThenSettled, [k])]);
    for (const [label, id] of ids) if (label.startsWith('ChildSignalTimerRace')) setTimeout(() => void a.sendSignal(id, 'go', label).catch(() => {}), 60 * Number(label.slice(-1)) + 100);
    const failures: unknown[] = [];
    for (const [label, id] of ids) {
      const check = await checkExecution(a, id, dir);
      if (check.state !== 'completed' || JSON.stringify(check.trace) !== JSON.stringify(check.stored) || check.duplicates.length > 0) failures.push({ label, ...check });
    }
    expect(failures).toEqual([]);
  });
});
