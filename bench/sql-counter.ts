import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * What this process sent to its database, counted at the drivers (pg's Client.query, better-sqlite3's
 * statements), so every statement is seen whoever issues it: the engine's store, TypeORM, the wake bus.
 */
export interface SqlCounts {
  /** Statements sent (BEGIN and COMMIT included): on PostgreSQL, each is a round trip. */
  statements: number;
  /** Transactions ended by a commit: each COMMIT and each statement run outside a transaction (what xact_commit counts). */
  transactions: number;
  /** Of those, the ones that wrote: commits that wait for the log to reach the disk. */
  commits: number;
}

const counts: SqlCounts = { statements: 0, transactions: 0, commits: 0 };
let installed = false;

/** With STENT_BENCH_SQL_TRACE=1, how often each statement text was sent (the runner prints it per result line). */
const trace = process.env.STENT_BENCH_SQL_TRACE ? new Map<string, number>() : undefined;
/** With tracing, the wall time (ms) statements of each text took: PostgreSQL from send to answer, waits included; SQLite the synchronous call. */
const traceMs = new Map<string, number>();

/** The statements sent since the last call, most frequent first (empty unless tracing). */
export function takeSqlTrace(): Array<[string, number]> {
  if (!trace) return [];
  const entries = [...trace.entries()].sort((a, b) => b[1] - a[1]);
  trace.clear();
  return entries;
}

/** The wall time (ms) spent on each statement text since the last call (tracing only). */
export function takeSqlTraceMs(): Map<string, number> {
  const taken = new Map(traceMs);
  traceMs.clear();
  return taken;
}

/** Adds the time from now until the statement is answered (callback or promise) to its text's total. */
function timed(sql: string, args: unknown[], send: (args: unknown[]) => unknown): unknown {
  const start = performance.now();
  const add = () => traceMs.set(sql, (traceMs.get(sql) ?? 0) + performance.now() - start);
  const last = args[args.length - 1];
  if (typeof last === 'function') {
    return send([...args.slice(0, -1), (...result: unknown[]) => {
      add();
      return (last as (...r: unknown[]) => unknown)(...result);
    }]);
  }
  const result = send(args);
  if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(add, add);
  return result;
}

export function sqlCounts(): SqlCounts {
  return { ...counts };
}

export function sqlCountsSince(start: SqlCounts): SqlCounts {
  return { statements: counts.statements - start.statements, transactions: counts.transactions - start.transactions, commits: counts.commits - start.commits };
}

const READ_ONLY = /^\s*(SELECT|SHOW|PRAGMA|EXPLAIN|LISTEN|UNLISTEN)\b/i;
const LOCKING = /\bFOR\s+(UPDATE|SHARE|NO KEY UPDATE)\b/i;

/** What a statement does to the counts: opens or ends a transaction, or commits on its own if it writes. */
type StatementKind = 'begin' | 'commit' | 'rollback' | 'read' | 'write';

function kindOf(sql: string): StatementKind {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
  if (verb === 'BEGIN') return 'begin';
  if (verb === 'COMMIT' || verb === 'END') return 'commit';
  if (verb === 'ROLLBACK') return 'rollback';
  return !READ_ONLY.test(sql) || LOCKING.test(sql) ? 'write' : 'read';
}

/**
 * Kinds of statement texts seen (PostgreSQL), so the counting costs a lookup, not three regular
 * expressions, at each statement: the bench's timings are the engine's, not its instrument's.
 */
const textKinds = new Map<string, StatementKind>();
/** Kinds of prepared statements (SQLite): reading a statement's text back from the driver copies it. */
const statementKinds = new WeakMap<object, StatementKind>();

function kindOfText(sql: string): StatementKind {
  let kind = textKinds.get(sql);
  if (kind === undefined) {
    if (textKinds.size >= 10_000) textKinds.clear();
    textKinds.set(sql, (kind = kindOf(sql)));
  }
  return kind;
}

/** Counts one statement given whether a transaction is open before it; returns whether one is open after it. */
function note(kind: StatementKind, inTransaction: boolean): boolean {
  counts.statements++;
  if (kind === 'begin') return true;
  if (kind === 'commit') {
    counts.transactions++;
    counts.commits++;
    return false;
  }
  if (kind === 'rollback') return false;
  if (!inTransaction) {
    counts.transactions++;
    if (kind === 'write') counts.commits++;
  }
  return inTransaction;
}

const IN_TRANSACTION = Symbol('benchInTransaction');
const UNCOUNTED = Symbol('benchUncounted');

/** Leaves a client's statements out of the counts (the bench's own probes of the server). */
export function uncounted<T extends object>(client: T): T {
  (client as Record<symbol, boolean>)[UNCOUNTED] = true;
  return client;
}

/** Wraps the drivers' statement methods once for this process (the bench only; the engine never calls it). */
export function installSqlCounter(): void {
  if (installed) return;
  installed = true;
  const clientProto = pg.Client.prototype as unknown as Record<string | symbol, unknown> & { query: (...args: unknown[]) => unknown };
  const query = clientProto.query;
  clientProto.query = function (this: Record<symbol, boolean>, config: unknown, ...rest: unknown[]) {
    const text = typeof config === 'string' ? config : (config as { text?: unknown } | null)?.text;
    if (typeof text === 'string' && !this[UNCOUNTED]) {
      this[IN_TRANSACTION] = note(kindOfText(text), this[IN_TRANSACTION] === true);
      if (trace) trace.set(text, (trace.get(text) ?? 0) + 1);
    }
    if (trace && typeof text === 'string') return timed(text, rest, (args) => query.call(this, config, ...args));
    return query.call(this, config, ...rest);
  };

  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ['run', 'all', 'get', 'iterate']) {
    const original = statementProto[method]!;
    statementProto[method] = function (this: { source: string; database: { inTransaction: boolean } }, ...args: unknown[]) {
      let kind = statementKinds.get(this);
      if (kind === undefined) statementKinds.set(this, (kind = kindOf(this.source)));
      note(kind, this.database.inTransaction);
      if (!trace) return original.apply(this, args);
      trace.set(this.source, (trace.get(this.source) ?? 0) + 1);
      const start = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        traceMs.set(this.source, (traceMs.get(this.source) ?? 0) + performance.now() - start);
      }
    };
  }
}
