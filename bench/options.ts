import { parseArgs } from 'node:util';

/** The databases the benchmark knows. */
export type Db = 'sqlite' | 'postgres';
export const ALL_DBS: readonly Db[] = ['sqlite', 'postgres'];

/** Case names as printed in the `case` field (DESIGN §8). */
export const ALL_CASES = ['commit_limit', 'sequential', 'fanout', 'throughput', 'latency', 'sleepers', 'long_history', 'scale', 'dashboard', 'flow_limits'] as const;
export type CaseName = (typeof ALL_CASES)[number];

export interface BenchOptions {
  dbs: Db[];
  cases: CaseName[];
}

const USAGE = `usage: node dist/bench/run.js [--db sqlite|postgres]... [--case NAME]...
  cases: ${ALL_CASES.join(', ')} (repeat a flag or separate values with commas)`;

function listOf(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(',')).map((value) => value.trim()).filter((value) => value !== '');
}

/** Reads `--db` and `--case` (both repeatable, comma lists allowed); no flag means everything. */
export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string', multiple: true },
      case: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const dbs = listOf(values.db);
  const cases = listOf(values.case);
  for (const db of dbs) if (!(ALL_DBS as readonly string[]).includes(db)) throw new Error(`unknown --db '${db}'\n${USAGE}`);
  for (const name of cases) if (!(ALL_CASES as readonly string[]).includes(name)) throw new Error(`unknown --case '${name}'\n${USAGE}`);
  return {
    dbs: dbs.length ? ALL_DBS.filter((db) => dbs.includes(db)) : [...ALL_DBS],
    cases: cases.length ? ALL_CASES.filter((name) => cases.includes(name)) : [...ALL_CASES],
  };
}
