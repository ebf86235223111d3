/**
 * What kind of failure an error reports, so callers (the admin API, the CLI, applications) can react
 * without knowing every class: a bad request (HTTP 400), something missing (404), a request that
 * contradicts stored state (409), the caller's own wait running out, the way a workflow or step ended
 * (thrown inside workflows, carried in Results), the database being out of reach (503), or a bug.
 */
export type StentErrorCategory = 'bad_input' | 'not_found' | 'conflict' | 'timeout' | 'outcome' | 'unavailable' | 'internal';

/** Base class of every error Stent throws on purpose. */
export class StentError extends Error {
  /** Stable, machine-readable identity of the error class (never reworded; listed in the README). */
  static readonly code: string = 'STENT_ERROR';
  static readonly category: StentErrorCategory = 'internal';

  /**
   * The class's code, kept on the instance as an own field so it survives JSON (logs, HTTP bodies) and
   * the journal's error encoding.
   */
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = (new.target as typeof StentError).code;
  }

  /** Derived from the class, so it is right even for an error rebuilt from the database. */
  get category(): StentErrorCategory {
    return (this.constructor as typeof StentError).category;
  }
}
