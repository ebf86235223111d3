import type { JournalEntry, StentExecutor } from 'nestjs-stent';

/**
 * Prints an execution's journal: one line per durable step (activity, sleep, signal, child), or, for
 * a run of steps with the same name (a fan-out), one line with how many ended in each state and how
 * many needed a retry. Recorded values (progress, counters, Stent.now() ...) hold journal positions
 * too, so a replay sees them again; they are counted, not listed.
 */
export async function printJournal(executor: StentExecutor, executionId: string): Promise<void> {
  const entries = await executor.getJournal(executionId);
  const steps = entries.filter((entry) => entry.kind !== 'value');
  const values = entries.length - steps.length;
  console.log(`journal: ${steps.length} steps${values ? ` (and ${values} recorded values)` : ''}`);
  for (const group of groupByName(steps)) console.log(`  ${describe(group)}`);
}

function groupByName(entries: JournalEntry[]): JournalEntry[][] {
  const groups: JournalEntry[][] = [];
  for (const entry of entries) {
    const last = groups.at(-1);
    if (last && last[0].name === entry.name && last[0].kind === entry.kind) last.push(entry);
    else groups.push([entry]);
  }
  return groups;
}

function describe(group: JournalEntry[]): string {
  const first = group[0];
  const positions = group.length === 1 ? `#${first.position}` : `#${first.position}-#${group.at(-1)!.position}`;
  const head = `${positions.padEnd(10)} ${first.kind.padEnd(8)} ${first.name}`;
  if (group.length === 1) {
    const attempts = first.kind === 'activity' ? `, ${first.attempts} attempt${first.attempts === 1 ? '' : 's'}` : '';
    const error = first.error ? `: ${first.error.message}` : '';
    return `${head.padEnd(60)} ${first.state}${attempts}${error}`;
  }
  const states = new Map<string, number>();
  for (const entry of group) states.set(entry.state, (states.get(entry.state) ?? 0) + 1);
  const tally = [...states].map(([state, count]) => `${count} ${state}`).join(', ');
  const retried = group.filter((entry) => entry.attempts > 1).length;
  return `${`${head} x${group.length}`.padEnd(60)} ${tally}${retried ? `; ${retried} needed a retry` : ''}`;
}
