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
  private readonly shapes = new WeakMap<Statement, Shape>();

  /** All rows of a statement that returns data, as objects keyed by column name. */
  all(statement: Statement, params: unknown[]): Row[] {
    let shape = this.shapes.get(statement);
    if (shape === undefined) {
      shape = this.shapeOf(statement);
      statement.raw(true);
    }
    const rows = statement.all(...params) as unknown as unknown[][];
    // SQLite prepared the statement again with other columns (a `SELECT *` after a migration elsewhere).
    if (rows.length > 0 && rows[0]!.length !== shape.width) shape = this.shapeOf(statement);
    return rows.map(shape.build);
  }

  private shapeOf(statement: Statement): Shape {
    const names = statement.columns().map((column) => column.name);
    const shape = { width: names.length, build: literalBuilder(names) ?? entriesBuilder(names) };
    this.shapes.set(statement, shape);
    return shape;
  }
}

/** A function returning an object literal of the columns, or undefined where Node.js makes no code from strings. */
function literalBuilder(names: string[]): Shape['build'] | undefined {
  // Written plainly, a key "__proto__" would set the object's prototype: that one is a computed key.
  const keys = names.map((name) => (name === '__proto__' ? '["__proto__"]' : JSON.stringify(name)));
  try {
    return new Function('values', `return {${keys.map((key, i) => `${key}: values[${i}]`).join(', ')}};`) as Shape['build'];
  } catch {
    // --disallow-code-generation-from-strings (or a policy that forbids it): rows are built key by key.
    return undefined;
  }
}

function entriesBuilder(names: string[]): Shape['build'] {
  return (values) => Object.fromEntries(names.map((name, i) => [name, values[i]]));
}
