import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '../core/api/duration.js';
import { InvalidDurationError } from '../core/errors/index.js';
import { CliUsageError } from './cli-usage.error.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  database: { type: 'string', short: 'd' },
  json: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'no-color': { type: 'boolean' },
  'connect-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface GlobalOptions {
  database: string | undefined;
  json: boolean;
  yes: boolean;
  noColor: boolean;
  connectTimeout: string;
  help: boolean;
}

export type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

export interface Parsed {
  global: GlobalOptions;
  values: Values;
  positionals: string[];
}

/** The command (and sub-command) words: the first positionals, options skipped. */
export function commandWords(argv: string[]): string[] {
  const { positionals } = parseArgs({ args: argv, options: GLOBAL_OPTIONS, strict: false, allowPositionals: true });
  return positionals;
}

/** Parses argv strictly for one command: unknown options, missing values and extra words are usage errors. */
export function parseCommand(argv: string[], options: OptionSpec, words: number, maxArgs: number): Parsed {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, strict: true, allowPositionals: true }) as { values: Values; positionals: string[] };
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '') : String(error));
  }
  const positionals = parsed.positionals.slice(words);
  if (positionals.length > maxArgs) throw new CliUsageError(`unexpected argument '${positionals[maxArgs]}'`);
  const values = parsed.values;
  const timeout = (values['connect-timeout'] as string | undefined) ?? '5s';
  duration('--connect-timeout', timeout);
  return {
    global: {
      database: values.database as string | undefined,
      json: values.json === true,
      yes: values.yes === true,
      noColor: values['no-color'] === true,
      connectTimeout: timeout,
      help: values.help === true,
    },
    values,
    positionals,
  };
}

/** A required positional argument. */
export function required(parsed: Parsed, index: number, name: string): string {
  const value = parsed.positionals[index];
  if (value === undefined || value === '') throw new CliUsageError(`missing <${name}>`);
  return value;
}

export function duration(option: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    if (error instanceof InvalidDurationError) throw new CliUsageError(`${option}: '${value}' is not a duration (use 500ms, 30s, 15m, 12h, 30d, 2w)`);
    throw error;
  }
}

export function integer(option: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new CliUsageError(`${option}: expected a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

/** A repeatable option that also takes comma-separated lists: --state failed,cancelled --state timed_out. */
export function list(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [value]).flatMap((item) => String(item).split(',')).map((item) => item.trim()).filter(Boolean);
  return items.length ? items : undefined;
}
