import { StentError } from './stent.error.js';

export class DuplicateNameError extends StentError {
  static override readonly code = 'STENT_DUPLICATE_NAME';
  static override readonly category = 'conflict' as const;

  constructor(
    readonly kind: 'workflow' | 'activity',
    readonly durableName: string,
  ) {
    super(`Two ${kind} definitions claim the name '${durableName}'; names are the durable identity and must be unique`);
  }
}
