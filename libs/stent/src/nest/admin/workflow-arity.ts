/**
 * How many arguments a workflow's run() takes: at least the parameters before the first default
 * (Function.length), at most all of them. The upper bound is read from the function's source when its
 * parameter list is plain (names, simple defaults); with a rest parameter, destructuring or defaults
 * holding strings, brackets or calls it is unknown (null) and only the lower bound is checked.
 */
export function arityOf(fn: (...args: never[]) => unknown): { min: number; max: number | null } {
  const min = fn.length;
  const source = Function.prototype.toString.call(fn);
  const open = source.indexOf('(');
  const close = open < 0 ? -1 : source.indexOf(')', open);
  if (close < 0) return { min, max: null };
  const params = source
    .slice(open + 1, close)
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  if (/\.\.\.|[[\]{}()"'`]/.test(params)) return { min, max: null };
  const count = params.split(',').filter((name) => name.trim() !== '').length;
  return { min, max: Math.max(min, count) };
}
