import { openInspector } from './inspector.js';
import type { TestDatabase } from './databases.js';

/**
 * Overwrites columns of one execution row directly in the database: how a test puts in place values an
 * earlier version of Stent wrote.
 */
export async function overwriteExecution(db: TestDatabase, id: string, columns: Record<string, string | null>): Promise<void> {
  const inspector = await openInspector(db);
  try {
    const names = Object.keys(columns);
    await inspector.query(`UPDATE ${inspector.t.executions} SET ${names.map((name) => `${name} = ?`).join(', ')} WHERE id = ?`, [
      ...names.map((name) => columns[name]),
      id,
    ]);
  } finally {
    await inspector.close();
  }
}
