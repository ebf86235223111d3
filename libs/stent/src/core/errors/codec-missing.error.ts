import { StentError } from './stent.error.js';

/** Stands for an error stored encoded by a codec, read by a process that has no codec (admin, CLI). */
export class CodecMissingError extends StentError {
  static override readonly code = 'STENT_CODEC_MISSING';
  static override readonly category = 'internal' as const;

  constructor(readonly keyId: string) {
    super(`This error was stored encoded with key '${keyId}'; this process has no codec to read it`);
  }
}
