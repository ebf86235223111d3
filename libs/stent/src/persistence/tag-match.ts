/**
 * SQL for "the JSON array of tags in `column` holds at least one of `tags`", matched exactly (no LIKE
 * wildcards, case-sensitive) on both dialects. Tags are stored as a JSON array written by
 * JSON.stringify. Pushes its parameters onto `params` (positional `?`).
 */
export function tagMatch(dialect: 'sqlite' | 'postgres', column: string, tags: readonly string[], params: unknown[]): string {
  if (tags.length === 0) return '1 = 1';
  if (dialect === 'postgres') {
    // Elements are compared in their JSON text form (json keeps the stored text as written), so no
    // escape is ever decoded: a stored "\u0000" cannot make the statement fail for every row.
    params.push(tags.map((tag) => JSON.stringify(tag)));
    return `EXISTS (SELECT 1 FROM json_array_elements(CAST(${column} AS json)) AS tag(value) WHERE CAST(tag.value AS text) = ANY(?))`;
  }
  params.push(JSON.stringify(tags));
  return `EXISTS (SELECT 1 FROM json_each(${column}) AS tag WHERE tag.value IN (SELECT value FROM json_each(?)))`;
}
