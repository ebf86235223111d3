import type { StentExecutor } from '../core/executor/executor.js';
import { toJsonView } from '../core/json-view.js';
import type { OptionSpec, Parsed } from './arguments.js';
import { confirm, type Terminal } from './terminal.js';

/** What a command works with. */
export interface CommandContext {
  term: Terminal;
  parsed: Parsed;
  /** Opens the database on first use. */
  executor(): Promise<StentExecutor>;
  /** Writes lines to stdout. */
  print(lines: string | string[]): void;
  /** Writes `value` as JSON (the same view as the admin API: dates ISO, errors with their code). */
  json(value: unknown): void;
  /** Asks before a change (see terminal.confirm); --yes answers for the operator. */
  confirm(question: string): Promise<void>;
}

export interface Command {
  /** Words that name it: ['list'], ['dlq', 'replay']. */
  words: string[];
  /** `<id> <name> [json]` */
  args?: string;
  summary: string;
  /** Its own options, with one line of help each. */
  options?: OptionSpec;
  optionHelp?: Array<[string, string]>;
  /** Positional arguments after the words it takes at most. */
  maxArgs?: number;
  run(context: CommandContext): Promise<void>;
}

export function commandContext(term: Terminal, parsed: Parsed, open: () => Promise<StentExecutor>): CommandContext {
  return {
    term,
    parsed,
    executor: open,
    print(lines) {
      term.out.write((Array.isArray(lines) ? lines : [lines]).join('\n') + '\n');
    },
    json(value) {
      term.out.write(JSON.stringify(toJsonView(value), null, 2) + '\n');
    },
    confirm: (question) => confirm(term, question, parsed.global.yes),
  };
}
