export { openTelemetry, type OpenTelemetryOptions } from './open-telemetry.js';
export { ATTR as STENT_ATTRIBUTES } from './attributes.js';
