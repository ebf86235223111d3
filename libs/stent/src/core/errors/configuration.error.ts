import { StentError } from './stent.error.js';

/** Options or arguments Stent cannot work with. */
export class ConfigurationError extends StentError {
  static override readonly code: string = 'STENT_INVALID_CONFIGURATION';
  static override readonly category: typeof StentError.category = 'bad_input';
}
