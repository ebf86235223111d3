import { ConfigurationError } from '../core/index.js';

/** What a call to a store gets once the store is closed, or closing: the same error wherever it is refused. */
export function storeClosedError(): ConfigurationError {
  return new ConfigurationError('This Stent store is closed');
}
