import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigurationError } from '../errors/index.js';
import type { StentCodec } from './payload-codec.js';

export interface AesGcmCodecOptions {
  /** Keys by id: 32 bytes each (a Buffer, or base64 text). Keep retired keys here for as long as payloads use them. */
  keys: Record<string, Buffer | string>;
  /** The id of the key new payloads are encrypted with. */
  current: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM with node:crypto: a random 96-bit IV per payload, stored as base64 of IV + ciphertext +
 * tag. The key id is authenticated with the payload (additional data), so a payload moved to another
 * key id fails to decode instead of decoding wrong. Rotation: add a key, make it `current`; payloads
 * written before keep their key id and are read with that key.
 */
export function aesGcmCodec(options: AesGcmCodecOptions): StentCodec {
  const keys = new Map<string, Buffer>();
  for (const [id, key] of Object.entries(options.keys)) {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'base64') : key;
    if (bytes.length !== 32) throw new ConfigurationError(`aesGcmCodec: key '${id}' is ${bytes.length} bytes; AES-256 needs 32`);
    keys.set(id, bytes);
  }
  const currentKey = keys.get(options.current);
  if (!currentKey) throw new ConfigurationError(`aesGcmCodec: the current key '${options.current}' is not among the keys`);
  return {
    async encode(plain) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv);
      cipher.setAAD(Buffer.from(options.current, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return { keyId: options.current, data: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64') };
    },
    async decode(data, keyId) {
      const key = keys.get(keyId);
      if (!key) throw new Error(`no key '${keyId}' in this codec`);
      const bytes = Buffer.from(data, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    },
  };
}
