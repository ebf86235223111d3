import { tableNames } from 'nestjs-stent/internal';
import { openInspector } from './inspector.js';
import type { TestDatabase } from './databases.js';

/** Rows of every Stent table that belong to these executions (and table-wide counts), read straight from the database. */
export async function rowsOf(db: TestDatabase, executionIds: string[]): Promise<{ executions: number; steps: number; signals: number; deadLetters: number }> {
  const inspector = await openInspector(db);
  const t = tableNames(db.schema);
  try {
    const marks = executionIds.map(() => '?').join(', ');
    const count = (table: string, column: string) => (executionIds.length ? inspector.scalar(`SELECT COUNT(*) FROM ${table} WHERE ${column} IN (${marks})`, executionIds) : Promise.resolve(0));
    return {
      executions: await count(t.executions, 'id'),
      steps: await count(t.steps, 'execution_id'),
      signals: await count(t.signals, 'execution_id'),
      deadLetters: await count(t.deadLetters, 'execution_id'),
    };
  } finally {
    await inspector.close();
  }
}

/** Runs statements on the test's database (to plant rows an older process left). */
export async function onDatabase<T>(db: TestDatabase, work: (sql: (text: string, params?: unknown[]) => Promise<unknown[]>, scalar: (text: string, params?: unknown[]) => Promise<number>, t: ReturnType<typeof tableNames>) => Promise<T>): Promise<T> {
  const inspector = await openInspector(db);
  try {
    return await work(
      (text, params = []) => inspector.query(text, params),
      (text, params = []) => inspector.scalar(text, params),
      tableNames(db.schema),
    );
  } finally {
    await inspector.close();
  }
}

/** Every row of every Stent table, as one text (to check what the database holds, whatever the column). */
export async function allStoredText(db: TestDatabase): Promise<string> {
  return onDatabase(db, async (sql) => {
    const tables =
      db.dialect === 'sqlite'
        ? ((await sql(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'stent_%'`)) as Array<{ name: string }>).map((row) => row.name)
        : ((await sql(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE 'stent_%'`, [db.schema ?? 'public'])) as Array<{ name: string }>).map(
            (row) => (db.schema ? `"${db.schema}"."${row.name}"` : row.name),
          );
    const dumps: string[] = [];
    for (const table of tables) dumps.push(`${table}: ${JSON.stringify(await sql(`SELECT * FROM ${table}`))}`);
    // Unescaped, so a test can look for '"key":"k1"' inside JSON held in a text column.
    return dumps.join('\n').replaceAll('\\', '');
  });
}
