import { StentError } from './stent.error.js';

/** schedules.create() named a schedule that already exists (update() changes one). */
export class ScheduleExistsError extends StentError {
  static override readonly code = 'STENT_SCHEDULE_EXISTS';
  static override readonly category = 'conflict' as const;

  constructor(readonly scheduleName: string) {
    super(`A schedule named '${scheduleName}' already exists`);
  }
}
