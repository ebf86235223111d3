/**
 * Characters a JSON string writes as escapes that an element of a PostgreSQL array literal would read
 * otherwise: control characters (JSON's `\n` is the letter n there) and UTF-16 surrogates (JSON writes a
 * lone one as `\udXXX`; pairs are left to pg too, rather than told apart here).
 */
const JSON_ONLY_ESCAPES = /[\u0000-\u001f\ud800-\udfff]/;

/**
 * The text of an array parameter as PostgreSQL reads it (`{"a","b",null,3}`), made by one JSON.stringify
 * of the array: within double quotes both escape only `"` and `\`, with a backslash, and JSON's `null` is
 * an array's NULL. pg builds the same text element by element, a concatenation each, which made it the
 * largest allocation of a worker on PostgreSQL (its shared statements pass rows as one array a column).
 * Undefined for an array holding anything else than nulls, booleans, finite numbers and strings without
 * the characters above: pg converts those as before.
 */
export function arrayLiteral(values: readonly unknown[]): string | undefined {
  // An index, not for-of: this runs for every array of every statement, and an unoptimized for-of allocates a result object an element.
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined || typeof value === 'boolean') continue;
    if (typeof value === 'string') {
      if (JSON_ONLY_ESCAPES.test(value)) return undefined;
    } else if (typeof value !== 'number' || !Number.isFinite(value)) {
      return undefined;
    }
  }
  const json = JSON.stringify(values);
  return `{${json.slice(1, -1)}}`;
}

/** `params` with each array that arrayLiteral can write as its text; the same array when none is. */
export function withArrayLiterals(params: unknown[]): unknown[] {
  let converted: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const value = params[i];
    if (!Array.isArray(value)) continue;
    const literal = arrayLiteral(value);
    if (literal === undefined) continue;
    converted ??= params.slice();
    converted[i] = literal;
  }
  return converted ?? params;
}
