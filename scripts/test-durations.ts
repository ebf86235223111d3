/**
 * Writes test/durations.json, the test files' durations the suite's sequencer (vitest.sequencer.ts) starts
 * the longest files first by on a machine without vitest's results cache (a fresh clone, as in CI). Read
 * from vitest JSON reports of full runs, best taken on a loaded machine (two runs at once): the mean per
 * file, in seconds.
 *
 *   npm run build && npx vitest run --reporter=default --reporter=json --outputFile=/tmp/run.json
 *   node dist/scripts/test-durations.js /tmp/run.json [more reports...]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface JsonReport {
  testResults: Array<{ name: string; startTime: number; endTime: number }>;
}

const reports = process.argv.slice(2);
if (reports.length === 0) {
  process.stderr.write('usage: node dist/scripts/test-durations.js <vitest JSON report>...\n');
  process.exit(2);
}
const seconds = new Map<string, number[]>();
for (const report of reports) {
  for (const file of (JSON.parse(readFileSync(report, 'utf8')) as JsonReport).testResults) {
    // Keyed by the path under dist/test, the same in every checkout.
    const key = file.name.split('/dist/test/')[1];
    if (!key) continue;
    seconds.set(key, [...(seconds.get(key) ?? []), (file.endTime - file.startTime) / 1000]);
  }
}
const table: Record<string, number> = {};
for (const key of [...seconds.keys()].sort()) {
  const all = seconds.get(key)!;
  table[key] = Math.round((all.reduce((sum, value) => sum + value, 0) / all.length) * 10) / 10;
}
const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'durations.json');
writeFileSync(out, `${JSON.stringify(table, null, 1)}\n`);
process.stdout.write(`${out}: ${Object.keys(table).length} files\n`);
