import { StentError } from './stent.error.js';

/** The codec could not decode a stored payload (an unknown key id, a payload altered in the database). */
export class PayloadDecodeError extends StentError {
  static override readonly code = 'STENT_PAYLOAD_DECODE';
  static override readonly category = 'internal' as const;

  constructor(
    readonly keyId: string,
    cause: unknown,
  ) {
    super(`A stored payload could not be decoded with key '${keyId}': ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
