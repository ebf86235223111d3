import { readFileSync } from 'node:fs';
import type { StentExecutor } from '../core/executor/executor.js';
import { StentError } from '../core/errors/index.js';
import { commandWords, parseCommand } from './arguments.js';
import { CliNotConfirmedError } from './cli-refused.error.js';
import { CliUsageError } from './cli-usage.error.js';
import { commandContext } from './command.js';
import { COMMANDS } from './commands/index.js';
import { commandHelp, mainHelp } from './help.js';
import { terminal } from './terminal.js';

const EXIT_BY_CATEGORY: Record<string, number> = { bad_input: 2, not_found: 3, conflict: 4, unavailable: 5 };

/** The exit status for an error: by its category, so scripts can tell "unknown id" from "database down". */
export function exitCode(error: unknown): number {
  if (error instanceof CliNotConfirmedError) return 6;
  if (error instanceof StentError) return EXIT_BY_CATEGORY[error.category] ?? 1;
  return 1;
}

/** A database error that means the schema is missing or older than this CLI. */
function schemaHint(error: unknown): string | null {
  const message = error instanceof Error ? error.message : String(error);
  if (/no such table|relation .* does not exist/i.test(message)) return `${message} (no Stent tables here: run 'stent migrate', or check --database and ?schema=)`;
  if (/no such column|column .* does not exist/i.test(message)) return `${message} (the schema is older than this CLI: run 'stent migrate')`;
  return null;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs the command line `argv` (without node and the script); resolves to the exit status. */
export async function runCli(argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  const term = terminal(argv.includes('--no-color'));
  let executor: StentExecutor | undefined;
  try {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
      term.out.write(`${version()}\n`);
      return 0;
    }
    const words = commandWords(argv);
    if (words.length === 0 || words[0] === 'help') {
      const topic = words[0] === 'help' ? COMMANDS.find((command) => command.words.join(' ') === words.slice(1, 1 + (words[1] === 'dlq' ? 2 : 1)).join(' ')) : undefined;
      if (topic) term.out.write(`${commandHelp(topic)}\n`);
      else if (words.length === 0 && !argv.includes('--help') && !argv.includes('-h')) {
        term.err.write(`${mainHelp(COMMANDS)}\n`);
        return 2;
      } else term.out.write(`${mainHelp(COMMANDS)}\n`);
      return 0;
    }
    const command = COMMANDS.find((candidate) => candidate.words.every((word, index) => words[index] === word));
    if (!command && words[0] === 'dlq' && words.length === 1 && (argv.includes('--help') || argv.includes('-h'))) {
      term.out.write(`${mainHelp(COMMANDS.filter((candidate) => candidate.words[0] === 'dlq'))}\n`);
      return 0;
    }
    if (!command) {
      const known = words[0] === 'dlq' ? 'dlq list|show|replay|replay-all|discard' : COMMANDS.map((c) => c.words[0]).filter((w, i, all) => all.indexOf(w) === i).join(', ');
      throw new CliUsageError(`unknown command '${words.slice(0, words[0] === 'dlq' ? 2 : 1).join(' ')}' (commands: ${known})`);
    }
    const parsed = parseCommand(argv, command.options ?? {}, command.words.length, command.maxArgs ?? 0);
    if (parsed.global.help) {
      term.out.write(`${commandHelp(command)}\n`);
      return 0;
    }
    const open = async () => {
      // Loaded only when a command needs the database: help and usage errors answer without loading TypeORM.
      const { connect } = await import('./connection.js');
      executor ??= await connect({ database: parsed.global.database, connectTimeout: parsed.global.connectTimeout, create: command.words[0] === 'migrate' });
      return executor;
    };
    await command.run(commandContext(term, parsed, open));
    return Number(process.exitCode ?? 0);
  } catch (error) {
    const hint = schemaHint(error);
    const message = (hint ?? (error instanceof Error ? error.message : String(error))).replace(/\s*\n\s*/g, ' ');
    const code = error instanceof StentError ? error.code : undefined;
    if (wantsJson) term.err.write(`${JSON.stringify({ error: { code: code ?? null, category: error instanceof StentError ? error.category : null, message } })}\n`);
    else term.err.write(`stent: ${message}${code ? ` [${code}]` : ''}\n`);
    return hint ? 1 : exitCode(error);
  } finally {
    if (executor) await executor.close('1s').catch(() => undefined);
  }
}
