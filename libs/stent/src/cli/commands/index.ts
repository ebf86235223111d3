import type { Command } from '../command.js';
import { dlqDiscardCommand, dlqListCommand, dlqReplayAllCommand, dlqReplayCommand, dlqShowCommand } from './dead-letters.js';
import { cancelCommand, listCommand, retryCommand, showCommand, signalCommand } from './executions.js';
import { forkCommand, rewindCommand } from './history.js';
import { cleanupCommand, migrateCommand } from './maintenance.js';
import { statsCommand, workersCommand } from './overview.js';
import { pausedCommand, pauseQueueCommand, pauseWorkflowCommand, resumeQueueCommand, resumeWorkflowCommand } from './pauses.js';
import { schedulesBackfillCommand, schedulesDeleteCommand, schedulesListCommand, schedulesPauseCommand, schedulesResumeCommand, schedulesShowCommand, schedulesTriggerCommand } from './schedules.js';
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
  schedulesListCommand,
  schedulesShowCommand,
  schedulesPauseCommand,
  schedulesResumeCommand,
  schedulesTriggerCommand,
  schedulesBackfillCommand,
  schedulesDeleteCommand,
  pausedCommand,
  pauseQueueCommand,
  resumeQueueCommand,
  pauseWorkflowCommand,
  resumeWorkflowCommand,
  statsCommand,
  workersCommand,
  watchCommand,
  migrateCommand,
  cleanupCommand,
];
