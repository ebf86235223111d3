import { createInterface } from 'node:readline';
import { CliNotConfirmedError } from './cli-refused.error.js';

/** Where the CLI writes and how: colours only on a terminal (never with NO_COLOR or --no-color). */
export interface Terminal {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  in: NodeJS.ReadStream;
  color: boolean;
  /** stdout is a terminal (watch redraws in place). */
  interactive: boolean;
  columns: number;
  rows: number;
}

export function terminal(noColor: boolean): Terminal {
  const interactive = process.stdout.isTTY === true;
  const env = process.env;
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const color = !noColor && (env.NO_COLOR === undefined || env.NO_COLOR === '') && (interactive || forced);
  return {
    out: process.stdout,
    err: process.stderr,
    in: process.stdin,
    color,
    interactive,
    columns: process.stdout.columns || Number(env.COLUMNS) || 100,
    rows: process.stdout.rows || Number(env.LINES) || 30,
  };
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], blue: [34, 39], magenta: [35, 39], cyan: [36, 39], gray: [90, 39] } as const;
export type Style = keyof typeof CODES;

/** Wraps `text` in an ANSI style when colours are on. */
export function paint(term: Pick<Terminal, 'color'>, style: Style, text: string): string {
  if (!term.color || text === '') return text;
  const [open, close] = CODES[style];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

const STATE_STYLE: Record<string, Style> = {
  completed: 'green',
  running: 'cyan',
  pending: 'blue',
  failed: 'red',
  timed_out: 'red',
  cancelled: 'yellow',
  live: 'green',
  stopped: 'gray',
  lost: 'red',
};

export function paintState(term: Pick<Terminal, 'color'>, state: string): string {
  const style = STATE_STYLE[state];
  return style ? paint(term, style, state) : state;
}

/**
 * Asks before a change. On a terminal the operator answers y/N; without one (a script, a pipe) nothing
 * can be asked, so the change is refused unless --yes says it is wanted.
 */
export async function confirm(term: Terminal, question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!term.in.isTTY) throw new CliNotConfirmedError(`${question}: not confirmed (stdin is not a terminal; pass --yes to confirm)`);
  const rl = createInterface({ input: term.in, output: term.err });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${question}? [y/N] `, resolve));
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliNotConfirmedError(`${question}: not confirmed`);
  } finally {
    rl.close();
  }
}
