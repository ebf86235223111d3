import type { FlowClaimLimits } from '../store/index.js';
import type { Worker } from './worker.js';

/*
 * The limits a worker's claims apply, less what its own bodies still hold after their attempts' outcomes
 * (timed out, ignoring their AbortSignal): the database no longer counts those steps as running, but
 * each body keeps its slot until it returns.
 */

/** Cluster-wide caps (maxConcurrent), one less for each such body. */
export function activityLimits(worker: Worker): Map<string, number> {
  const limits = worker.registry.activityLimits();
  for (const { step } of worker.runner.bodiesPastOutcome()) {
    const cap = limits.get(step.name);
    if (cap !== undefined) limits.set(step.name, cap - 1);
  }
  return limits;
}

/** Flow-limited activities; such a body keeps its slot under the total cap. */
export function flowLimits(worker: Worker): Map<string, FlowClaimLimits> {
  const flow = worker.registry.flowLimits();
  for (const { step } of worker.runner.bodiesPastOutcome()) {
    const limits = flow.get(step.name);
    if (limits?.total != null) flow.set(step.name, { ...limits, total: limits.total - 1 });
  }
  return flow;
}

/** Such keyed bodies, each keeping its key's slot (ClaimFilter.runningPastOutcome). */
export function keyedBodiesPastOutcome(worker: Worker): Array<{ name: string; key: string }> | undefined {
  let bodies: Array<{ name: string; key: string }> | undefined;
  for (const { step } of worker.runner.bodiesPastOutcome()) {
    if (step.concurrencyKey != null) (bodies ??= []).push({ name: step.name, key: step.concurrencyKey });
  }
  return bodies;
}
