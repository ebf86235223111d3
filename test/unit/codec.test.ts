import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aesGcmCodec, CodecMissingError, ConfigurationError, decode, decodeError, decodeEntries, encode, EncodedPayload, toJsonView } from 'nestjs-stent/internal';

const KEY = randomBytes(32);

describe('aesGcmCodec', () => {
  it('round-trips text, with a fresh IV each time, under the current key id', async () => {
    const codec = aesGcmCodec({ keys: { a: KEY }, current: 'a' });
    // Spaces never occur in the encoded text, so the check cannot match by chance.
    const first = await codec.encode('{"card":"4111 1111"}');
    const second = await codec.encode('{"card":"4111 1111"}');
    expect(first.keyId).toBe('a');
    expect(first.data).not.toBe(second.data);
    expect(first.data).not.toContain('4111 1111');
    expect(await codec.decode(first.data, 'a')).toBe('{"card":"4111 1111"}');
  });

  it('refuses a payload moved to another key id, altered, or under a key it does not hold', async () => {
    const other = randomBytes(32);
    const codec = aesGcmCodec({ keys: { a: KEY, b: KEY, c: other }, current: 'a' });
    const { data } = await codec.encode('secret');
    // Same key bytes under another id: the id is authenticated with the payload.
    await expect(codec.decode(data, 'b')).rejects.toThrow();
    const bytes = Buffer.from(data, 'base64');
    bytes[14] = bytes[14]! ^ 1;
    await expect(codec.decode(bytes.toString('base64'), 'a')).rejects.toThrow();
    await expect(codec.decode(data, 'zz')).rejects.toThrow(/no key 'zz'/);
  });

  it('refuses keys that are not 32 bytes and a current key it does not hold', () => {
    expect(() => aesGcmCodec({ keys: { a: randomBytes(16) }, current: 'a' })).toThrow(ConfigurationError);
    expect(() => aesGcmCodec({ keys: { a: KEY }, current: 'b' })).toThrow(ConfigurationError);
  });
});

describe('encoded payloads read without the codec', () => {
  const envelope = JSON.stringify({ __stent: 'encoded', key: 'k9', data: 'AAAA' });

  it('read back as markers: values, state entries and errors', () => {
    expect(decode(envelope)).toEqual(new EncodedPayload('k9'));
    expect(toJsonView({ args: decode(envelope) })).toEqual({ args: "[encoded with key 'k9']" });
    expect(decodeEntries(JSON.stringify({ plain: 1, hidden: JSON.parse(envelope) }))).toEqual({ plain: 1, hidden: new EncodedPayload('k9') });
    const error = decodeError(envelope);
    expect(error).toBeInstanceOf(CodecMissingError);
    expect((error as CodecMissingError).keyId).toBe('k9');
  });

  it('a user value shaped like an envelope stays the user value', () => {
    const lookalike = { __stent: 'encoded', key: 'k9', data: 'AAAA' };
    expect(decode(encode(lookalike))).toEqual(lookalike);
  });
});
