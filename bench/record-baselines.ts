/**
 * Records a run as the baseline: reads `npm run bench` result lines on stdin, writes each line's
 * `vs_commit_limit` to bench/baselines.json (what later runs' `regression` compares against) and prints the
 * README's table of that run on stdout.
 *
 *     node dist/bench/run.js | tee run.jsonl && node dist/bench/record-baselines.js "2 December 2026" < run.jsonl
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { baselineKey } from './baselines.js';
import type { Measurement } from './report.js';

const FILE = fileURLToPath(new URL('../../bench/baselines.json', import.meta.url));

type Line = Record<string, unknown> & { case: string; db: Measurement['db']; workers: number; steps: number; seconds: number };

const lines = readFileSync(0, 'utf8')
  .split('\n')
  .filter((text) => text.startsWith('{'))
  .map((text) => JSON.parse(text) as Line);
const recorded: Record<string, number> = {};
for (const line of lines) {
  if (typeof line.vs_commit_limit === 'number') recorded[baselineKey({ ...line, extra: { via: line.via, measured: line.measured, variant: line.variant } })] = line.vs_commit_limit;
}
writeFileSync(FILE, `${JSON.stringify({ recorded: process.argv[2] ?? new Date().toISOString().slice(0, 10), vs_commit_limit: recorded }, null, 2)}\n`);

const cell = (value: unknown): string => (value === undefined ? '' : String(value));
const rows = [
  '| case | db | worker processes | steps | ms/step | vs commit limit | commits/step | statements/step | node CPU ms/step | db CPU ms/step | notes |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const line of lines) {
  const notes: string[] = [];
  if (line.case === 'commit_limit') notes.push(`${line.clients} client(s), ${Math.round(Number(line.steps_per_s))} commits/s${line.db_cpu_ms_per_commit === undefined ? '' : `, db CPU ${line.db_cpu_ms_per_commit} ms/commit`}`);
  if (line.via) notes.push(`via ${line.via}`);
  if (line.variant) notes.push(`${line.variant}${line.cost_of_limits === undefined ? '' : `, cost ${line.cost_of_limits} (${line.cost_vs_same_attempts} against as many attempts at once)`}`);
  if (line.p50_ms !== undefined) notes.push(line.p99_ms === undefined ? `p50 ${line.p50_ms} ms` : `p50 ${line.p50_ms} ms, p99 ${line.p99_ms} ms`);
  rows.push(
    `| ${line.case} | ${line.db} | ${line.workers} | ${line.steps} | ${cell(line.ms_per_step)} | ${cell(line.vs_commit_limit)} | ${cell(line.commits_per_step)} | ${cell(line.statements_per_step)} | ${cell(line.node_cpu_ms_per_step)} | ${cell(line.db_cpu_ms_per_step)} | ${notes.join('; ')} |`,
  );
}
process.stdout.write(`${rows.join('\n')}\n`);
