/** The logging surface Stent uses; Nest's Logger fits it. */
export interface StentLogger {
  log(message: string, ...context: unknown[]): void;
  warn(message: string, ...context: unknown[]): void;
  error(message: string, ...context: unknown[]): void;
  debug?(message: string, ...context: unknown[]): void;
}

/** Default outside Nest: warnings and errors to stderr, the rest silent. */
export const stderrLogger: StentLogger = {
  log() {},
  warn(message) {
    process.stderr.write(`[stent] WARN ${message}\n`);
  },
  error(message, ...context) {
    process.stderr.write(`[stent] ERROR ${message}${context.length ? ' ' + context.map(String).join(' ') : ''}\n`);
  },
};
