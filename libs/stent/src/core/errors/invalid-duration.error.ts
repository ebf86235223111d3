import { StentError } from './stent.error.js';

export class InvalidDurationError extends StentError {
  static override readonly code = 'STENT_INVALID_DURATION';
  static override readonly category = 'bad_input' as const;

  constructor(readonly input: unknown) {
    super(
      `Invalid duration ${JSON.stringify(input) ?? String(input)}: use milliseconds as a number or a string such as '500ms', '30s', '1h30m', '2d', '1w'`,
    );
  }
}
