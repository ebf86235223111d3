import { ConfigurationError, PayloadDecodeError } from '../errors/index.js';
import { isEnvelope, type EncodedEnvelope, type StentCodec } from './payload-codec.js';

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Encodes and decodes the text of one stored payload column. Encoded text is a JSON object (the envelope),
 * so the store's own JSON handling of progress and state still works; a payload stored before the codec
 * was configured (not an envelope) reads back as it is.
 */
export class CodecFields {
  constructor(private readonly codec: StentCodec) {}

  async encode(plain: string): Promise<string>;
  async encode(plain: string | null): Promise<string | null>;
  async encode(plain: string | null | undefined): Promise<string | null | undefined>;
  async encode(plain: string | null | undefined): Promise<string | null | undefined> {
    if (plain === null || plain === undefined) return plain;
    const { keyId, data } = await this.codec.encode(plain);
    if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) throw new ConfigurationError(`codec.encode returned the key id ${JSON.stringify(keyId)}: use 1-64 letters, digits, '.', '_' or '-'`);
    if (typeof data !== 'string') throw new ConfigurationError('codec.encode must return its data as a string (base64, say)');
    const envelope: EncodedEnvelope = { __stent: 'encoded', key: keyId, data };
    return JSON.stringify(envelope);
  }

  async decode(text: string): Promise<string>;
  async decode(text: string | null): Promise<string | null>;
  async decode(text: string | null | undefined): Promise<string | null | undefined>;
  async decode(text: string | null | undefined): Promise<string | null | undefined> {
    if (text === null || text === undefined || !text.startsWith('{"__stent":"encoded"')) return text;
    const envelope = JSON.parse(text) as unknown;
    return isEnvelope(envelope) ? this.open(envelope) : text;
  }

  /** A JSON object of separately stored values (custom state): each encoded value is decoded in place. */
  async decodeEntries(text: string | null): Promise<string | null> {
    if (text === null || !text.includes('"__stent":"encoded"')) return text;
    const entries = JSON.parse(text) as Record<string, unknown>;
    for (const [key, value] of Object.entries(entries)) {
      if (isEnvelope(value)) entries[key] = JSON.parse(await this.open(value));
    }
    return JSON.stringify(entries);
  }

  private async open(envelope: EncodedEnvelope): Promise<string> {
    try {
      return await this.codec.decode(envelope.data, envelope.key);
    } catch (error) {
      throw new PayloadDecodeError(envelope.key, error);
    }
  }
}
