import type { Command } from '../command.js';
import { dlqDiscardCommand, dlqListCommand, dlqReplayAllCommand, dlqReplayCommand, dlqShowCommand } from './dead-letters.js';
import { cancelCommand, listCommand, retryCommand, showCommand, signalCommand } from './executions.js';
import { forkCommand, rewindCommand } from './history.js';
import { cleanupCommand, migrateCommand } from './maintenance.js';
import { statsCommand, workersCommand } from './overview.js';
import { watchCommand } from './watch.js';

/** Every command, in the order `stent --help` lists them. */
export const COMMANDS: Command[] = [
  listCommand,
  showCommand,
  dlqListCommand,
  dlqShowCommand,
  dlqReplayCommand,
  dlqReplayAllCommand,
  dlqDiscardCommand,
  cancelCommand,
  signalCommand,
  retryCommand,
  forkCommand,
  rewindCommand,
  statsCommand,
  workersCommand,
  watchCommand,
  migrateCommand,
  cleanupCommand,
];
