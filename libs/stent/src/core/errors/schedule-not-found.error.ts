import { StentError } from './stent.error.js';

export class ScheduleNotFoundError extends StentError {
  static override readonly code = 'STENT_SCHEDULE_NOT_FOUND';
  static override readonly category = 'not_found' as const;

  constructor(readonly scheduleName: string) {
    super(`No schedule named '${scheduleName}'`);
  }
}
