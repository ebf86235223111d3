import { appendFileSync } from 'node:fs';
import { Stent } from 'nestjs-stent';

/**
 * Prints what an activity body is doing, indented under the sample's own lines. With
 * SAMPLE_TRACE_FILE set, it also appends the line (with the activity's execution id, attempt, the
 * process id and the time) to that file, synchronously, so a process killed right after keeps its lines:
 * an audit trail of every body that ran, which the crash tests read to show that steps completed
 * before a crash do not run again.
 */
export function narrate(line: string, options: { print?: boolean } = {}): void {
  if (options.print ?? true) console.log(`    ${line}`);
  const file = process.env.SAMPLE_TRACE_FILE;
  if (!file) return;
  const { executionId, attempt } = Stent.activity();
  appendFileSync(file, `${JSON.stringify({ pid: process.pid, at: Date.now(), executionId, attempt, line })}\n`);
}
