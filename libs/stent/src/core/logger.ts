/**
 * Ids a log line is about, passed as the last argument so structured loggers keep them as fields (Nest's
 * ConsoleLogger prints them after the message, or as fields in JSON mode).
 */
export interface StentLogContext {
  executionId?: string;
  workflow?: string;
  stepId?: string;
  position?: number;
  activity?: string;
  attempt?: number;
  workerId?: string;
  [key: string]: unknown;
}

/** The logging surface Stent uses; Nest's Logger fits it. */
export interface StentLogger {
  log(message: string, ...context: unknown[]): void;
  warn(message: string, ...context: unknown[]): void;
  error(message: string, ...context: unknown[]): void;
  debug?(message: string, ...context: unknown[]): void;
  /** The chattiest level: every activity attempt. */
  verbose?(message: string, ...context: unknown[]): void;
}

/** An argument as one line of text: errors by their stack head, objects as JSON. */
function show(value: unknown): string {
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  if (value !== null && typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/** Default outside Nest: warnings and errors to stderr, with their context; the rest silent. */
export const stderrLogger: StentLogger = {
  log() {},
  warn(message, ...context) {
    process.stderr.write(`[stent] WARN ${message}${context.length ? ' ' + context.map(show).join(' ') : ''}\n`);
  },
  error(message, ...context) {
    process.stderr.write(`[stent] ERROR ${message}${context.length ? ' ' + context.map(show).join(' ') : ''}\n`);
  },
};
