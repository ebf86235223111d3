import { StentError } from './stent.error.js';

/** Stent.writeStream or closeStream on a stream this execution already closed. */
export class StreamClosedError extends StentError {
  static override readonly code = 'STENT_STREAM_CLOSED';
  static override readonly category = 'bad_input' as const;

  constructor(readonly key: string) {
    super(`Stream '${key}' was already closed by this execution`);
  }
}
