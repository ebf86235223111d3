import type { Clock } from '../clock/clock.js';
import { getWorkflowDefinition } from '../definitions/definitions.js';
import { checkName } from '../definitions/names.js';
import type { PauseKind, PauseStore } from '../store/index.js';

/** A paused queue or workflow type, as the executor reports it. */
export interface PausedInfo {
  kind: PauseKind;
  name: string;
  pausedAt: Date;
}

/** Whether the call changed anything (pausing what was paused already, or resuming what was not, does not). */
export interface PauseOutcome {
  kind: PauseKind;
  name: string;
  paused: boolean;
  changed: boolean;
}

/**
 * Pausing a queue or a workflow type: no worker claims its work from the moment the pause commits (an
 * execution already in a worker's memory goes on); resuming wakes the workers.
 */
export class PauseOperations {
  constructor(
    private readonly store: PauseStore,
    private readonly clock: Clock,
    /** Re-reads the pauses into this process's worker, so its local claims at insert obey the change at once. */
    private readonly changedHere: () => Promise<void> = async () => undefined,
  ) {}

  async set(kind: PauseKind, target: unknown, paused: boolean): Promise<PauseOutcome> {
    const name = kind === 'workflow' && typeof target === 'function' ? (getWorkflowDefinition(target)?.name ?? target.name) : target;
    checkName(kind === 'queue' ? 'queue' : 'workflow', name);
    const changed = await this.store.setPaused(kind, name, paused, this.clock.now());
    await this.changedHere();
    return { kind, name, paused, changed };
  }

  async list(): Promise<PausedInfo[]> {
    return (await this.store.listPaused()).map((record) => ({ kind: record.kind, name: record.name, pausedAt: new Date(record.pausedAt) }));
  }
}
