/**
 * Everything the package holds, for the project's own apps (CLI, admin server), its tests and its
 * benchmarks. Not a public API: names here change without notice. Applications import 'nestjs-stent'.
 */
export * from './core/index.js';
export * from './persistence/index.js';
export * from './nest/index.js';
export * from './telemetry/index.js';
export { hasWalResetBug } from './persistence/sqlite-version-check.js';
export { OutsideChanges } from './core/executor/outside-changes.js';
export { arrayLiteral, withArrayLiterals } from './persistence/clients/postgres-array-literal.js';
