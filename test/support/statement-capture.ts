import Database from 'better-sqlite3';
import pg from 'pg';

export interface Sent {
  sql: string;
  params: unknown[];
}

/** Records the statements the drivers send while `work` runs. */
export async function capture(work: () => Promise<unknown>): Promise<Sent[]> {
  const sent: Sent[] = [];
  const statementProto = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as Record<string, (...args: unknown[]) => unknown>;
  const originals = { run: statementProto.run!, all: statementProto.all!, query: pg.Client.prototype.query };
  for (const method of ['run', 'all'] as const) {
    const original = originals[method];
    statementProto[method] = function (this: { source: string }, ...args: unknown[]) {
      sent.push({ sql: this.source, params: args });
      return original.apply(this, args);
    };
  }
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const [config, values] = args;
    if (typeof config === 'string') sent.push({ sql: config, params: Array.isArray(values) ? values : [] });
    else if (config && typeof config === 'object' && 'text' in config) sent.push({ sql: String((config as { text: string }).text), params: (config as { values?: unknown[] }).values ?? [] });
    return (originals.query as (...args: unknown[]) => unknown).apply(this, args);
  } as typeof pg.Client.prototype.query;
  try {
    await work();
  } finally {
    statementProto.run = originals.run;
    statementProto.all = originals.all;
    pg.Client.prototype.query = originals.query;
  }
  return sent;
}
