import type { Command } from './command.js';

const GLOBAL_HELP: Array<[string, string]> = [
  ['-d, --database <url>', 'SQLite file or postgres://user@host/db?schema=name (default: $STENT_DATABASE_URL)'],
  ['--json', 'print JSON (for scripts) instead of tables'],
  ['-y, --yes', 'do not ask before changes (required when stdin is not a terminal)'],
  ['--no-color', 'no colours (also NO_COLOR=1; colours are only used on a terminal)'],
  ['--connect-timeout <duration>', 'how long to retry an unreachable database (default 5s)'],
  ['-h, --help', 'help for stent or for a command'],
];

const optionLines = (entries: Array<[string, string]>) => {
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
};

const usageOf = (command: Command) => `stent ${command.words.join(' ')}${command.args ? ` ${command.args}` : ''}${command.options ? ' [options]' : ''}`;

export function mainHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((command) => usageOf(command).length - 6));
  return [
    'Usage: stent <command> [options]',
    '',
    'Operate Stent workflows on a SQLite or PostgreSQL database (no application code needed).',
    '',
    'Commands:',
    ...commands.map((command) => `  ${usageOf(command).slice(6).padEnd(width)}  ${command.summary}`),
    '',
    'Options of every command:',
    ...optionLines(GLOBAL_HELP),
    '',
    "Exit codes: 0 ok, 1 unexpected error, 2 bad arguments, 3 unknown id, 4 conflict (e.g. already finished),",
    '5 database unreachable, 6 change not confirmed.',
    "Run 'stent <command> --help' for a command's options.",
  ].join('\n');
}

export function commandHelp(command: Command): string {
  return [`Usage: ${usageOf(command)}`, '', command.summary, ...(command.optionHelp ? ['', 'Options:', ...optionLines(command.optionHelp)] : []), '', 'Options of every command:', ...optionLines(GLOBAL_HELP)].join('\n');
}
