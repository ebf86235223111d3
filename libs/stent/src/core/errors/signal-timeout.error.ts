import { StentError } from './stent.error.js';

export class SignalTimeoutError extends StentError {
  static override readonly code = 'STENT_SIGNAL_TIMEOUT';
  static override readonly category = 'outcome' as const;

  constructor(
    readonly signalName: string,
    readonly timeoutMs: number,
  ) {
    super(`No signal '${signalName}' arrived within ${timeoutMs} ms`);
  }
}
