import { ConfigurationError } from './configuration.error.js';

/** What kind of name was refused. */
export type NameKind = 'workflow' | 'activity' | 'queue' | 'tag' | 'signal' | 'execution id' | 'idempotency key' | 'schema' | 'counter' | 'state key' | 'patch' | 'schedule' | 'event key' | 'stream key' | 'flow key';

const LABELS: Record<NameKind, string> = {
  workflow: 'workflow name',
  activity: 'activity name',
  queue: 'queue name',
  tag: 'tag',
  signal: 'signal name',
  'execution id': 'execution id',
  'idempotency key': 'idempotency key',
  schema: 'schema name',
  counter: 'counter name',
  'state key': 'state key',
  patch: 'patch id',
  schedule: 'schedule name',
  'event key': 'event key',
  'stream key': 'stream key',
  'flow key': 'concurrency or rate-limit key',
};

/**
 * A durable name, queue, tag, signal name, execution id, idempotency key, schema name, counter name or
 * state key the databases
 * could not store (or match) as given: too long for its column, a character one of them refuses, ...
 * Refused where it is declared, before it can reach a statement shared with other work.
 */
export class InvalidNameError extends ConfigurationError {
  static override readonly code = 'STENT_INVALID_NAME';

  constructor(
    readonly kind: NameKind,
    readonly value: string,
    readonly reason: string,
  ) {
    const shown = value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}...` : JSON.stringify(value);
    super(`Invalid ${LABELS[kind]} ${shown}: ${reason}`);
  }
}
