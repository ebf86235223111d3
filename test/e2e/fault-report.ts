/**
 * What a cross-process fault test saw when a wait for a takeover failed: the rows of the executions it
 * waits for (states, lease owners, lease expiries, wake times), the database's lease clock next to the
 * test's own, the workers table, the connections that work on the test's schema (a statement waiting
 * on a lock shows there), the activity bodies' evidence and each worker's stderr and trace tail. A wait
 * that times out under load then says which part stood still: the reaper, a claim, a wake, or the test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Inspector } from '../support/inspector.js';
import type { WorkerProcess } from '../support/worker-process.js';
import type { Run } from './fault-env.js';

export interface ReportSources {
  inspector: Inspector;
  /** The test's PostgreSQL schema (undefined on SQLite). */
  schema?: string;
  evidenceDir: string;
  runs(): Run[];
}

/** Runs `wait`; if it throws, throws again with the report of the executions appended to the message. */
export async function explained<T>(wait: Promise<T>, sources: ReportSources, executionIds: string[], workers: WorkerProcess[]): Promise<T> {
  try {
    return await wait;
  } catch (error) {
    const report = await faultReport(sources, executionIds, workers).catch((cause: unknown) => `(the report itself failed: ${String(cause)})`);
    const message = error instanceof Error ? error.message : String(error);
    const explainedError = new Error(`${message}\n\n${report}`, { cause: error });
    throw explainedError;
  }
}

/** The report as text, one section a source (a section that cannot be read says why, the others still show). */
export async function faultReport(sources: ReportSources, executionIds: string[], workers: WorkerProcess[]): Promise<string> {
  const { inspector } = sources;
  const { t } = inspector;
  const ids = executionIds.length > 0 ? executionIds : [''];
  const marks = ids.map(() => '?').join(', ');
  const section = async (title: string, read: () => Promise<string>): Promise<string> => {
    try {
      return `${title}:\n${await read()}`;
    } catch (error) {
      return `${title}: (could not read: ${String(error)})`;
    }
  };
  const sections: string[] = [];
  sections.push(
    await section('clock', async () => {
      const testNow = Date.now();
      if (inspector.dialect !== 'postgres') return `  test process ${testNow} (SQLite leases run on the workers' clocks)`;
      const dbNow = await inspector.scalar(`SELECT CAST(FLOOR(EXTRACT(EPOCH FROM statement_timestamp()) * 1000) AS BIGINT)`);
      return `  database ${dbNow}, test process ${testNow} (database - test = ${dbNow - testNow} ms)`;
    }),
  );
  sections.push(
    await section('executions', async () =>
      rowsText(
        await inspector.query(
          `SELECT id, state, lease_owner, lease_epoch, lease_expires_at, wake_at, recoveries, updated_at FROM ${t.executions} WHERE id IN (${marks})`,
          ids,
        ),
      ),
    ),
  );
  sections.push(
    await section('steps', async () =>
      rowsText(
        await inspector.query(
          `SELECT execution_id, position, kind, name, state, attempts, recoveries, lease_owner, lease_epoch, lease_expires_at, available_at, started_at
           FROM ${t.steps} WHERE execution_id IN (${marks}) ORDER BY execution_id, position`,
          ids,
        ),
      ),
    ),
  );
  const workersTable = t.executions.replace('stent_executions', 'stent_workers');
  sections.push(await section('workers table', async () => rowsText(await inspector.query(`SELECT id, pid, state, heartbeat_at FROM ${workersTable}`))));
  if (inspector.dialect === 'postgres' && sources.schema) sections.push(await section('connections', () => connectionsText(inspector, sources.schema!)));
  sections.push(
    await section('activity bodies (evidence)', async () =>
      rowsText(sources.runs().filter((run) => executionIds.length === 0 || executionIds.includes(run.executionId))),
    ),
  );
  for (const worker of workers) {
    const state = worker.alive ? 'alive' : `exited ${JSON.stringify(worker.exitInfo)}`;
    sections.push(`worker pid ${worker.pid} (${String(worker.ready.owner ?? '?')}, ${state}) stderr tail:\n${worker.stderr.slice(-1500) || '(empty)'}`);
    const trace = join(sources.evidenceDir, `${worker.pid}.trace`);
    if (existsSync(trace)) sections.push(`worker pid ${worker.pid} trace tail:\n${readFileSync(trace, 'utf8').trimEnd().split('\n').slice(-15).join('\n')}`);
  }
  return `--- fault report ---\n${sections.join('\n\n')}\n--- end of fault report ---`;
}

/**
 * The server's connection count; what every connection working on this schema does right now, and what
 * holds the locks any of them waits for (advisory locks and row locks can be held by any connection of
 * the database, also one of another test or a stopped process).
 */
async function connectionsText(inspector: Inspector, schema: string): Promise<string> {
  const total = await inspector.scalar(`SELECT COUNT(*) FROM pg_stat_activity WHERE backend_type = 'client backend'`);
  const limit = await inspector.scalar(`SELECT CAST(setting AS INTEGER) FROM pg_settings WHERE name = 'max_connections'`);
  const activity = `a.pid, a.application_name, a.state, a.wait_event_type, a.wait_event,
            CAST(FLOOR(EXTRACT(EPOCH FROM (now() - a.xact_start)) * 1000) AS BIGINT) AS xact_ms,
            CAST(FLOOR(EXTRACT(EPOCH FROM (now() - a.state_change)) * 1000) AS BIGINT) AS state_ms,
            LEFT(REGEXP_REPLACE(a.query, '\\s+', ' ', 'g'), 160) AS query`;
  // A connection is this test's if its last statement names the schema or it holds a lock on one of its tables.
  const mine = await inspector.query<{ pid: unknown; blocked_by: unknown }>(
    `SELECT ${activity}, pg_blocking_pids(a.pid) AS blocked_by
       FROM pg_stat_activity a
      WHERE a.pid <> pg_backend_pid()
        AND (a.query LIKE ? OR EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                                        WHERE l.pid = a.pid AND n.nspname = ?))`,
    [`%"${schema}"%`, schema],
  );
  const blockers = [...new Set(mine.flatMap((row) => (Array.isArray(row.blocked_by) ? row.blocked_by.map(Number) : [])))];
  const blocking = blockers.length > 0 ? await inspector.query(`SELECT ${activity} FROM pg_stat_activity a WHERE a.pid IN (${blockers.map(() => '?').join(', ')})`, blockers) : [];
  return `  ${total} of ${limit} on the server; on this schema:\n${rowsText(mine)}\n  holding the locks those wait for:\n${rowsText(blocking)}`;
}

function rowsText(rows: object[]): string {
  if (rows.length === 0) return '  (none)';
  return rows.map((row) => `  ${JSON.stringify(row)}`).join('\n');
}
