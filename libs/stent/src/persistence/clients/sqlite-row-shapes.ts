import type { Statement } from 'better-sqlite3';

type Row = Record<string, unknown>;
type Shape = { width: number; build: (values: unknown[]) => Row };

/**
 * Rows of better-sqlite3 statements read as arrays and made into objects here, by a function written once
 * per statement for its columns. The driver makes each row object property by property, and a row of a
 * claimed step (32 columns) cost about twice as long read that way; an object literal of fixed keys is
 * built in one step, and every row of a statement shares one hidden class, which the code reading it likes.
 */
export class SqliteRowShapes {
  private readonly shapes = new WeakMap<Statement, Shape | null>();

  /** All rows of a statement that returns data, as objects keyed by column name. */
  all(statement: Statement, params: unknown[]): Row[] {
    const shape = this.shapeOf(statement);
    if (shape === null) return statement.all(...params) as Row[];
    const rows = statement.all(...params) as unknown as unknown[][];
    if (rows.length > 0 && rows[0]!.length !== shape.width) return this.reshaped(statement, rows);
    return rows.map(shape.build);
  }

  private shapeOf(statement: Statement): Shape | null {
    let shape = this.shapes.get(statement);
    if (shape === undefined) {
      shape = shapeFor(statement);
      this.shapes.set(statement, shape);
      if (shape) statement.raw(true);
    }
    return shape;
  }

  /** The statement was prepared again by SQLite with other columns (a `SELECT *` after a migration elsewhere). */
  private reshaped(statement: Statement, rows: unknown[][]): Row[] {
    const shape = shapeFor(statement);
    this.shapes.set(statement, shape);
    if (shape) return rows.map(shape.build);
    const names = statement.columns().map((column) => column.name);
    return rows.map((values) => Object.fromEntries(names.map((name, i) => [name, values[i]])));
  }
}

/** The statement's shape, or null where an object literal cannot stand for its row (a column named __proto__). */
function shapeFor(statement: Statement): Shape | null {
  const names = statement.columns().map((column) => column.name);
  if (names.includes('__proto__')) return null;
  const body = `return {${names.map((name, i) => `${JSON.stringify(name)}: values[${i}]`).join(', ')}};`;
  return { width: names.length, build: new Function('values', body) as Shape['build'] };
}
