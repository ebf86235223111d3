/** What is paused: a queue (nothing on it is claimed) or a workflow type (its executions are not claimed). */
export type PauseKind = 'queue' | 'workflow';

export interface PauseRecord {
  kind: PauseKind;
  name: string;
  pausedAt: number;
}

/** Pauses: a row per paused queue or workflow type, which every claim statement looks at. */
export interface PauseStore {
  /** Pauses (or resumes) `name`; false when it already was (or was not) paused. Resuming wakes the workers. */
  setPaused(kind: PauseKind, name: string, paused: boolean, now: number): Promise<boolean>;
  listPaused(): Promise<PauseRecord[]>;
}
