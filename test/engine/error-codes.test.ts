import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import * as stent from 'nestjs-stent';
import { ActivityFailedError, defineActivity, defineWorkflow, ExecutionExistsError, ExecutionNotFoundError, NonRetryableError, StentError } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/executor-set.js';
import { overwriteExecution } from '../support/stored-rows.js';

type ErrorClass = typeof StentError;
const errorClasses = Object.entries(stent).filter(
  (entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && (entry[1] === StentError || entry[1].prototype instanceof StentError),
);

class Declining {
  async charge(orderId: string): Promise<string> {
    throw new NonRetryableError(`card declined for ${orderId}`);
  }
}
defineActivity(Declining, { name: 'CodesDeclining' });

class DecliningFlow {
  constructor(private readonly acts: Declining) {}
  async run(orderId: string): Promise<string> {
    return this.acts.charge(orderId);
  }
}
defineWorkflow(DecliningFlow, { name: 'CodesDecliningFlow' });

describe('error codes', () => {
  it('every exported error class has its own stable code and a category', () => {
    expect(errorClasses.length).toBeGreaterThanOrEqual(20);
    const codes = new Map<string, string>();
    for (const [name, errorClass] of errorClasses) {
      expect(errorClass.code, name).toMatch(/^STENT_[A-Z_]+$/);
      expect(['bad_input', 'not_found', 'conflict', 'timeout', 'outcome', 'unavailable', 'internal']).toContain(errorClass.category);
      expect(codes.get(errorClass.code), `${name} reuses the code of ${codes.get(errorClass.code)}`).toBeUndefined();
      codes.set(errorClass.code, name);
    }
    expect(new ExecutionNotFoundError('x')).toMatchObject({ code: 'STENT_EXECUTION_NOT_FOUND', category: 'not_found' });
    expect(new ExecutionExistsError('x')).toMatchObject({ code: 'STENT_EXECUTION_EXISTS', category: 'conflict' });
    // The code is data: it shows in JSON (logs, HTTP bodies).
    expect(JSON.parse(JSON.stringify(new ExecutionNotFoundError('x'))).code).toBe('STENT_EXECUTION_NOT_FOUND');
  });

  it('the README lists every code with its class', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const [name, errorClass] of errorClasses) {
      expect(readme, `README row for ${name}`).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|\\s*\`${errorClass.code}\`\\s*\\|\\s*${errorClass.category}\\s*\\|`));
    }
  });
});

describe.each(DIALECTS)('error codes through the engine on %s', (dialect) => {
  let harness: Harness;
  afterEach(async () => harness?.dispose());

  it('errors from the API and errors read back from the journal carry their codes', async () => {
    const acts = new Declining();
    harness = await createHarness(dialect, [acts, new DecliningFlow(acts)]);
    const { executor } = harness;
    await expect(executor.getExecution('nope')).rejects.toMatchObject({ code: 'STENT_EXECUTION_NOT_FOUND', category: 'not_found' });
    await expect(executor.dlq.discard('nope')).rejects.toMatchObject({ code: 'STENT_DEAD_LETTER_NOT_FOUND', category: 'not_found' });
    await expect(executor.dispatch('NoSuchFlow', [])).rejects.toMatchObject({ code: 'STENT_UNKNOWN_WORKFLOW' });
    await expect(executor.dispatch(DecliningFlow, ['a'], { delay: 'soon' })).rejects.toMatchObject({ code: 'STENT_INVALID_DURATION', category: 'bad_input' });
    await executor.dispatch(DecliningFlow, ['a'], { executionId: 'codes-1' });
    await expect(executor.dispatch(DecliningFlow, ['a'], { executionId: 'codes-1' })).rejects.toMatchObject({ code: 'STENT_EXECUTION_EXISTS', category: 'conflict' });

    const result = await executor.waitFor('codes-1', { timeout: '20s' });
    expect(result.state).toBe('failed');
    const error = result.error as ActivityFailedError;
    expect(error).toBeInstanceOf(ActivityFailedError);
    expect(error).toMatchObject({ code: 'STENT_ACTIVITY_FAILED', category: 'outcome' });
    expect(error.cause).toMatchObject({ code: 'STENT_NON_RETRYABLE' });
    await expect(executor.sendSignal('codes-1', 'late', 1)).rejects.toMatchObject({ code: 'STENT_EXECUTION_FINISHED', category: 'conflict' });
  });

  it('an error stored before codes existed comes back with its class code', async () => {
    const acts = new Declining();
    harness = await createHarness(dialect, [acts, new DecliningFlow(acts)]);
    const id = await harness.executor.dispatch(DecliningFlow, ['b']);
    expect((await harness.executor.waitFor(id, { timeout: '20s' })).state).toBe('failed');
    const legacy = JSON.stringify({
      name: 'ActivityFailedError',
      message: "Activity 'CodesDeclining.charge' failed after 1 attempt: card declined for b",
      fields: { activityName: 'CodesDeclining.charge', attempts: 1, position: 0, executionId: id },
      cause: { name: 'NonRetryableError', message: 'card declined for b', fields: { nonRetryable: true } },
    });
    await overwriteExecution(harness.db, id, { error: legacy });
    const error = (await harness.executor.getExecution(id)).result!.error as ActivityFailedError;
    expect(error).toBeInstanceOf(ActivityFailedError);
    expect(error).toMatchObject({ code: 'STENT_ACTIVITY_FAILED', activityName: 'CodesDeclining.charge' });
    expect(error.cause).toMatchObject({ code: 'STENT_NON_RETRYABLE' });
  });
});
