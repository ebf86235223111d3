import { paint, type Terminal } from './terminal.js';

const ANSI = /\u001b\[[0-9;]*m/g;

export function visibleLength(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** Cuts `text` to `width` visible characters, ending in an ellipsis; colour codes are kept (and closed). */
export function fit(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  if (width <= 0) return '';
  let out = '';
  let shown = 0;
  let styled = false;
  for (const part of text.split(/(\u001b\[[0-9;]*m)/)) {
    if (part.startsWith('\u001b[')) {
      out += part;
      styled = true;
      continue;
    }
    for (const char of part) {
      if (shown === width - 1) return `${out}…${styled ? '\u001b[0m' : ''}`;
      out += char;
      shown++;
    }
  }
  return out;
}

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - visibleLength(text)));

/**
 * A table with a header row, columns as wide as their content; when `maxWidth` is given, the widest
 * columns are narrowed (their cells cut with an ellipsis) until the table fits.
 */
export function table(term: Pick<Terminal, 'color'>, headers: string[], rows: string[][], maxWidth?: number): string[] {
  const widths = headers.map((header, column) => Math.max(visibleLength(header), ...rows.map((row) => visibleLength(row[column] ?? ''))));
  if (maxWidth !== undefined) {
    const gap = 2 * (headers.length - 1);
    while (widths.reduce((a, b) => a + b, 0) + gap > maxWidth) {
      const widest = widths.indexOf(Math.max(...widths));
      if (widths[widest]! <= 6) break;
      widths[widest]!--;
    }
  }
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => pad(fit(cell, widths[column]!), widths[column]!))
      .join('  ')
      .trimEnd();
  return [paint(term, 'bold', line(headers)), ...rows.map(line)];
}

/** A table as a command prints it: fitted to the terminal's width when stdout is one, then a dimmed footer line. */
export function screenTable(term: Pick<Terminal, 'color' | 'interactive' | 'columns'>, headers: string[], rows: string[][], footer?: string): string[] {
  const lines = table(term, headers, rows, term.interactive ? term.columns : undefined);
  return footer === undefined ? lines : [...lines, paint(term, 'dim', footer)];
}

/** `label: value` lines with the labels aligned. */
export function fields(term: Pick<Terminal, 'color'>, entries: Array<[string, string]>): string[] {
  const width = Math.max(...entries.map(([label]) => label.length)) + 1;
  return entries.map(([label, value]) => `${paint(term, 'dim', pad(`${label}:`, width))} ${value}`);
}

/** A time as `YYYY-MM-DD HH:MM:SS` (UTC), or '-' for none. */
export function when(date: Date | null | undefined): string {
  if (!date) return '-';
  return date.toISOString().replace('T', ' ').slice(0, 19);
}

/** A span of milliseconds in its two largest units: 850ms, 4.2s, 3m 12s, 5h 2m, 2d 3h. */
export function span(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of units) {
    const amount = Math.floor(rest / size);
    if (amount > 0 || parts.length) parts.push(`${amount}${unit}`);
    rest -= amount * size;
    if (parts.length === 2 || (parts.length && rest < 1000)) break;
  }
  return parts.join(' ');
}

/** A value on one line: strings as they are, the rest as JSON. */
export function inline(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const DONE_KEYS = ['done', 'current', 'completed', 'processed', 'count', 'value'];
const TOTAL_KEYS = ['total', 'of', 'max', 'size'];

/**
 * How far along a progress value is, from 0 to 1, when it says: a fraction (0.4), a percentage (40),
 * { percent }, or a count and a total ({ done: 4, total: 10 }, { current, of }...). Null otherwise.
 */
export function progressFraction(progress: unknown): number | null {
  const clamp = (n: number) => Math.min(1, Math.max(0, n));
  if (typeof progress === 'number' && Number.isFinite(progress)) return progress <= 1 ? clamp(progress) : progress <= 100 ? progress / 100 : null;
  if (progress === null || typeof progress !== 'object') return null;
  const record = progress as Record<string, unknown>;
  for (const key of ['percent', 'percentage', 'pct']) if (typeof record[key] === 'number') return clamp((record[key] as number) / 100);
  if (typeof record.fraction === 'number') return clamp(record.fraction);
  const done = DONE_KEYS.map((key) => record[key]).find((value) => typeof value === 'number') as number | undefined;
  const total = TOTAL_KEYS.map((key) => record[key]).find((value) => typeof value === 'number') as number | undefined;
  if (done !== undefined && total !== undefined && total > 0) return clamp(done / total);
  return null;
}

/** A bar `width` characters wide for a fraction, with its percentage. */
export function bar(term: Pick<Terminal, 'color' | 'interactive'>, fraction: number, width: number): string {
  const filled = Math.round(fraction * width);
  const [full, empty] = term.interactive ? ['█', '░'] : ['#', '.'];
  return `${paint(term, 'green', full.repeat(filled))}${paint(term, 'dim', empty.repeat(width - filled))} ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

/** A progress value as text: a bar when it has a fraction (plus any other fields), else the value itself. */
export function progressText(term: Pick<Terminal, 'color' | 'interactive'>, progress: unknown, width = 20): string {
  if (progress === null || progress === undefined) return '-';
  const fraction = progressFraction(progress);
  if (fraction === null) return inline(progress);
  return bar(term, fraction, width);
}

const TICKS = '▁▂▃▄▅▆▇█';

/** A sparkline of counts (one character each) on a terminal; the counts themselves elsewhere. */
export function sparkline(term: Pick<Terminal, 'interactive'>, values: number[]): string {
  const max = Math.max(1, ...values);
  if (!term.interactive) return values.join(' ');
  return values.map((value) => (value === 0 ? ' ' : TICKS[Math.min(TICKS.length - 1, Math.floor((value / max) * (TICKS.length - 1)))])).join('');
}
