import { InvalidDurationError } from '../errors/index.js';

/** A duration: milliseconds as a number, or a string such as '500ms', '30s', '1h30m', '2d', '1w'. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

export function parseDuration(input: Duration): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new InvalidDurationError(input);
    return Math.round(input);
  }
  if (typeof input !== 'string') throw new InvalidDurationError(input);
  const text = input.trim().toLowerCase();
  if (text === '' || !WHOLE.test(text)) throw new InvalidDurationError(input);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return Math.round(total);
}

export function parseOptionalDuration(input: Duration | undefined): number | undefined {
  return input === undefined ? undefined : parseDuration(input);
}
