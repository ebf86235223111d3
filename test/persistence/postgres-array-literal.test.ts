import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayLiteral, withArrayLiterals } from 'nestjs-stent/internal';
import { connectPostgres, POSTGRES_URL } from '../support/databases.js';

/**
 * Array parameters on PostgreSQL are sent as the text of an array literal written by one JSON.stringify
 * (pg built the same text a concatenation an element). Every array here goes to the server both ways, as
 * the literal and as pg converts it, and must come back the same; arrays the literal cannot write as
 * PostgreSQL reads them are left to pg.
 */
const TEXTS: Array<Array<string | null | undefined>> = [
  ['plain', 'two words', '', 'NULL', 'null', 'a,b', '{braces}', '(parens)', "it's", 'é', '日本'],
  ['"quoted"', 'back\\slash', '\\"both\\"', 'ends with \\', '"'],
  [null, 'x', undefined, null],
  ['{"json":"text","n":[1,2]}', '[1,"two",null]', '{"s":"a\\"b"}'],
  [],
];
const NUMBERS: number[][] = [[0, 1, -1, 2 ** 53 - 1, -(2 ** 53)], [12, 1e3]];
const FLOATS: number[][] = [[0.1, -2.5, 1e21, 1e-7, -0]];
const BOOLEANS: Array<Array<boolean | null>> = [[true, false, null]];

describe('array parameters on PostgreSQL as literal text', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = await connectPostgres(POSTGRES_URL);
  });
  afterAll(async () => {
    await client?.end();
  });

  /** What the server reads from `value` sent as a parameter cast to `type`. */
  async function read(value: unknown, type: string): Promise<unknown> {
    const { rows } = await client.query<{ v: unknown }>(`SELECT CAST($1 AS ${type}) AS v`, [value]);
    return rows[0]!.v;
  }

  const cases: Array<[string, unknown[][]]> = [
    ['text[]', TEXTS],
    ['varchar[]', TEXTS],
    ['bigint[]', NUMBERS],
    ['integer[]', [[0, 1, -1, 2_147_483_647]]],
    ['float8[]', FLOATS],
    ['boolean[]', BOOLEANS],
  ];
  for (const [type, arrays] of cases) {
    it(`${type}: the literal is read as pg's own conversion is`, async () => {
      for (const array of arrays) {
        const literal = arrayLiteral(array);
        expect(literal, JSON.stringify(array)).toBeTypeOf('string');
        expect(await read(literal, type), JSON.stringify(array)).toEqual(await read(array, type));
      }
    });
  }

  it('leaves to pg what JSON would write otherwise: control characters, surrogates, odd numbers, other types', async () => {
    const others: unknown[][] = [
      ['line\nbreak'],
      ['tab\there'],
      ['nul\u0000'],
      ['emoji 😀'],
      ['lone \ud800'],
      [Number.NaN],
      [Number.POSITIVE_INFINITY],
      [10n],
      [new Date(0)],
      [Buffer.from('ab')],
      [['nested']],
      [{ an: 'object' }],
    ];
    for (const array of others) expect(arrayLiteral(array), String(array)).toBeUndefined();
    // pg still sends them as before.
    expect(await read(['line\nbreak', 'emoji 😀'], 'text[]')).toEqual(['line\nbreak', 'emoji 😀']);
  });

  it('replaces only the arrays it can write, and returns the same parameters when it writes none', () => {
    const plain = ['a', 1, null];
    expect(withArrayLiterals(plain)).toBe(plain);
    const mixed = ['a', ['x', 'y'], ['line\n'], 2];
    const sent = withArrayLiterals(mixed);
    expect(sent).toEqual(['a', '{"x","y"}', ['line\n'], 2]);
    expect(mixed[1]).toEqual(['x', 'y']);
  });
});
