import { parseArgs } from 'node:util';

/** The databases the benchmark knows: SQLite through better-sqlite3 or through sqlite3, and PostgreSQL. */
export type Db = 'sqlite' | 'postgres' | 'sqlite3';
/** What a run without --db measures. */
export const ALL_DBS: readonly Db[] = ['sqlite', 'postgres'];
/** --db sqlite3 (the sqlite3 package, for comparing drivers) runs only when asked for, on the cases that take it. */
export const SELECTABLE_DBS: readonly Db[] = [...ALL_DBS, 'sqlite3'];

/** Case names as printed in the `case` field (DESIGN §8). */
export const ALL_CASES = ['commit_limit', 'sequential', 'fanout', 'throughput', 'latency', 'sleepers', 'long_history', 'scale', 'dashboard', 'flow_limits'] as const;
export type CaseName = (typeof ALL_CASES)[number];

export interface BenchOptions {
  dbs: Db[];
  cases: CaseName[];
  /** Where CPU profiles of the one selected case go (`--profile`); undefined when not profiling. */
  profileDir: string | undefined;
}

const USAGE = `usage: node dist/bench/run.js [--db sqlite|postgres|sqlite3]... [--case NAME]... [--profile [--profile-dir DIR]]
  cases: ${ALL_CASES.join(', ')} (repeat a flag or separate values with commas)
  --profile: write a CPU profile (.cpuprofile) of the worker for the timed part of one case (name exactly one
  --case) into DIR (default bench-profiles): of this process, or of each worker process in multi-process cases`;

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
      profile: { type: 'boolean' },
      'profile-dir': { type: 'string' },
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
  for (const db of dbs) if (!(SELECTABLE_DBS as readonly string[]).includes(db)) throw new Error(`unknown --db '${db}'\n${USAGE}`);
  for (const name of cases) if (!(ALL_CASES as readonly string[]).includes(name)) throw new Error(`unknown --case '${name}'\n${USAGE}`);
  if (values.profile && cases.length !== 1) throw new Error(`--profile needs exactly one --case\n${USAGE}`);
  return {
    profileDir: values.profile ? (values['profile-dir'] ?? 'bench-profiles') : undefined,
    dbs: dbs.length ? SELECTABLE_DBS.filter((db) => dbs.includes(db)) : [...ALL_DBS],
    cases: cases.length ? ALL_CASES.filter((name) => cases.includes(name)) : [...ALL_CASES],
  };
}
