import { JournalMismatchError, type StentExecutor, type StepKind } from '../core/index.js';

/** One step of an execution's journal, as tests assert on it. */
export interface StepSummary {
  position: number;
  kind: string;
  name: string;
  state: string;
  attempts: number;
}

/** Expected step: its name alone, or the fields that matter (others are not compared). */
export type ExpectedStep = string | Partial<StepSummary>;

/** Which steps a journal assertion looks at (default all, values of Stent.now() and the like included). */
export interface JournalFilter {
  kinds?: StepKind[];
}

/** The journal of an execution in call order. */
export async function stepsOf(executor: StentExecutor, executionId: string): Promise<StepSummary[]> {
  const journal = await executor.getJournal(executionId);
  return journal.map(({ position, kind, name, state, attempts }) => ({ position, kind, name, state, attempts }));
}

/**
 * Throws JournalMismatchError unless the journal holds exactly the expected steps, in that order. Only the
 * fields given are compared: 'Payments.charge' checks the name, { name, attempts: 2 } the attempts too.
 */
export async function expectJournalOf(executor: StentExecutor, executionId: string, expected: ExpectedStep[], options: JournalFilter = {}): Promise<void> {
  const steps = (await stepsOf(executor, executionId)).filter((step) => !options.kinds || options.kinds.includes(step.kind as StepKind));
  const wanted = expected.map((step) => (typeof step === 'string' ? { name: step } : step));
  const shown = steps.map((step) => pick(step, wanted[steps.indexOf(step)] ?? { name: step.name }));
  const matches =
    steps.length === wanted.length && steps.every((step, i) => Object.entries(wanted[i]!).every(([key, value]) => step[key as keyof StepSummary] === value));
  if (!matches) throw new JournalMismatchError(executionId, wanted, shown);
}

/** The fields of `step` named in `like`, so a mismatch message compares like with like. */
function pick(step: StepSummary, like: Partial<StepSummary>): Partial<StepSummary> {
  const keys = Object.keys(like) as Array<keyof StepSummary>;
  return Object.fromEntries(keys.map((key) => [key, step[key]])) as Partial<StepSummary>;
}
