import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigurationError } from '../errors/index.js';
import type { StentCodec } from './payload-codec.js';

/**
 * The codec of a process configured from its environment (the `stent` CLI, stent-server): STENT_CODEC_MODULE
 * names a module, resolved from the working directory, whose `codec` export (or default export) is a
 * StentCodec. Unset: no codec (encoded payloads show as markers).
 */
export async function codecFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<StentCodec | undefined> {
  const path = env.STENT_CODEC_MODULE?.trim();
  if (!path) return undefined;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigurationError(`STENT_CODEC_MODULE: could not load '${path}' (${error instanceof Error ? error.message : String(error)})`);
  }
  const codec = (loaded.codec ?? loaded.default) as Partial<StentCodec> | undefined;
  if (!codec || typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
    throw new ConfigurationError(`STENT_CODEC_MODULE: '${path}' exports no codec (export const codec = aesGcmCodec({...}), with encode and decode)`);
  }
  return codec as StentCodec;
}
