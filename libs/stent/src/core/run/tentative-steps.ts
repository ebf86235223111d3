import type { StepKind, StepRecord } from '../store/index.js';
import type { WorkflowRun } from './workflow-run.js';

/**
 * A revived execution retries the step at execution.revivePosition. The steps it had recorded after it saw
 * that step fail are tentative: the replay reuses one if it makes the same call at the same position before
 * the retried step's new outcome arrives; the first call that differs, and that outcome, drop the rest.
 */
export class TentativeSteps {
  private readonly positions = new Set<number>();
  private reuseOpen: boolean;
  private confirmations: number[] = [];

  constructor(
    private readonly run: WorkflowRun,
    recorded: StepRecord[],
  ) {
    this.reuseOpen = run.execution.revivePosition !== null;
    for (const step of recorded) if (step.tentative) this.positions.add(step.position);
  }

  has(position: number): boolean {
    return this.positions.has(position);
  }

  /** Tentative positions left (dropped with the run's ending if it ends before repeating them). */
  remaining(): number[] {
    return [...this.positions];
  }

  /** The replay reached tentative step `recorded`: reused if it is the same call, else it and every later one are dropped. */
  reuse(recorded: StepRecord, kind: StepKind, name: string, args: string | null): StepRecord | undefined {
    const { position } = recorded;
    if (this.reuseOpen && recorded.kind === kind && recorded.name === name && (recorded.args ?? null) === args) {
      this.positions.delete(position);
      this.confirm(position);
      return recorded;
    }
    this.drop([...this.positions].filter((p) => p >= position));
    return undefined;
  }

  /** An outcome was handed to the workflow: the retried step's new outcome ends reuse. */
  outcomeHanded(position: number): void {
    if (this.reuseOpen && position === this.run.execution.revivePosition) {
      // What the workflow does next is new; nothing more is reused.
      this.reuseOpen = false;
      this.drop([...this.positions], true);
    }
  }

  /** Forgets tentative steps (in memory now, in the database with the next writes). */
  private drop(positions: number[], reviveSettled = false): void {
    for (const position of positions) {
      this.positions.delete(position);
      this.run.journal.delete(position);
    }
    if (positions.length === 0 && !reviveSettled) return;
    this.flushConfirmations();
    const { run } = this;
    run.writer.enqueueWrite(async () => {
      if (!(await run.host.store.discardSteps(run.fence, positions, reviveSettled))) run.lifecycle.abandon('lease lost while dropping steps');
    });
  }

  /** A tentative step the replay repeated is part of the journal again (written in a batch, in order). */
  private confirm(position: number): void {
    this.confirmations.push(position);
    if (this.confirmations.length === 1) queueMicrotask(() => this.flushConfirmations());
  }

  private flushConfirmations(): void {
    if (this.confirmations.length === 0) return;
    const positions = this.confirmations;
    this.confirmations = [];
    const { run } = this;
    run.writer.enqueueWrite(async () => {
      if (!(await run.host.store.confirmSteps(run.fence, positions))) run.lifecycle.abandon('lease lost while confirming steps');
    });
  }
}
