/**
 * Turns stored payloads (arguments, results, errors, signals, events, stream chunks, progress, state)
 * into something else and back: encryption, compression. `encode` says which key it used; that key id is
 * stored beside each payload and handed to `decode`, so keys can rotate: new payloads use the current key,
 * old ones are still read with theirs for as long as the codec keeps it.
 */
export interface StentCodec {
  /** `data` must be text (base64, say); `keyId` a short name without ':' (letters, digits, '.', '_', '-'). */
  encode(plain: string): Promise<{ keyId: string; data: string }>;
  decode(data: string, keyId: string): Promise<string>;
}

/** How an encoded payload is stored: a JSON object with the engine's tag, which no user value can be. */
export interface EncodedEnvelope {
  __stent: 'encoded';
  key: string;
  data: string;
}

export function isEnvelope(value: unknown): value is EncodedEnvelope {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return record.__stent === 'encoded' && typeof record.key === 'string' && typeof record.data === 'string';
}

/** What a process without the codec shows for an encoded payload (admin API, CLI). */
export class EncodedPayload {
  constructor(readonly keyId: string) {}

  toJSON(): string {
    return `[encoded with key '${this.keyId}']`;
  }

  toString(): string {
    return this.toJSON();
  }
}
