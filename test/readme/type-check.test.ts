// Every README example that a test imports compiles under the project's strict settings, as written
// (the tests import them transpiled, which does not check types).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readmeTypeErrors, type ReadmeBlock } from '../support/readme-type-check.js';

const here = dirname(fileURLToPath(import.meta.url));
const fullExample = join(here, '../../sample/full-example');

// "A full example" #1 is sample/full-example itself and "Testing your workflows" is
// test/testing/readme-example.test.ts (their tests keep them equal to the README): the build checks both.
const BLOCKS: ReadmeBlock[] = [
  { section: 'A full example', block: 2, dir: fullExample },
  { section: 'Lifecycle events', block: 1, dir: here },
  { section: 'OpenTelemetry', block: 1, dir: here },
  { section: 'Events and streams', block: 1, dir: here },
  { section: 'Payload codecs', block: 1, dir: here },
  { section: 'Evolving workflows', block: 1, dir: here },
  { section: 'Evolving workflows', block: 2, dir: here },
  { section: 'Admin REST API', block: 1, dir: here },
  { section: 'Dashboard', block: 1, dir: here },
  { section: 'Health', block: 1, dir: here },
  { section: 'Flow control', block: 1, dir: here },
  { section: 'Flow control', block: 2, dir: here },
  { section: 'Flow control', block: 3, dir: here },
  { section: 'Flow control', block: 4, dir: here },
  { section: 'Flow control', block: 5, dir: here },
  { section: 'Retention', block: 1, dir: here },
  { section: 'Retention', block: 2, dir: here },
];

describe('the README examples type-check as written', () => {
  it('has no type errors', () => {
    expect(readmeTypeErrors(BLOCKS)).toEqual([]);
  }, 120_000);
});
