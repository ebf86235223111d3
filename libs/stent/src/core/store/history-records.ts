/** Records of an execution's history: versions left to other workers, forks. */

/** Due executions a worker leaves to others because it cannot replay their workflow version. */
export interface OtherVersionRecord {
  workflowName: string;
  version: number;
  due: number;
}

/** A fork: a new execution `newId` whose journal is a copy of `sourceId`'s before `fromPosition`. */
export interface ForkRequest {
  sourceId: string;
  fromPosition: number;
  newId: string;
  /** Encoded arguments of the new execution; null: the source's. */
  args: string | null;
  now: number;
}
