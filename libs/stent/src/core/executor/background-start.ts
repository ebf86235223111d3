import type { Clock } from '../clock/clock.js';
import type { StentLogger } from '../logger.js';
import type { StartupRecord } from './readiness.js';

/** First and longest pause between tries of a start that failed. */
const FIRST_PAUSE_MS = 200;
const MAX_PAUSE_MS = 10_000;

/**
 * A start tried again with back-off (on the executor's clock) until it works or is given up: how an
 * application boots while its database is down and starts working once it answers.
 */
export class BackgroundStart {
  private firstTry: Promise<boolean> | undefined;
  private givenUp = false;
  private cutPause: (() => void) | undefined;

  constructor(
    private readonly start: () => Promise<void>,
    private readonly startup: StartupRecord,
    private readonly clock: Clock,
    private readonly logger: StentLogger,
    /** Undoes a start that succeeded after the start was given up. */
    private readonly undo: () => Promise<void>,
  ) {}

  /** Begins (once); resolves after the first try: true if it started, false if it failed and is tried again. */
  run(): Promise<boolean> {
    if (this.firstTry) return this.firstTry;
    let tried!: (started: boolean) => void;
    this.firstTry = new Promise<boolean>((resolve) => (tried = resolve));
    this.startup.retrying = true;
    void (async () => {
      try {
        for (let pause = FIRST_PAUSE_MS; !this.givenUp; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
          try {
            await this.start();
            tried(true);
            if (this.givenUp) await this.undo();
            return;
          } catch (error) {
            tried(false);
            if (this.givenUp) return;
            this.logger.warn(`Stent could not start (${error instanceof Error ? error.message : String(error)}); trying again in ${pause} ms`);
            await this.pause(pause);
          }
        }
      } finally {
        this.startup.retrying = false;
        tried(false);
      }
    })();
    return this.firstTry;
  }

  /** Stops trying (the executor closes). */
  giveUp(): void {
    this.givenUp = true;
    this.cutPause?.();
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(ms, () => {
        this.cutPause = undefined;
        resolve();
      });
      this.cutPause = () => {
        timer.cancel();
        this.cutPause = undefined;
        resolve();
      };
    });
  }
}
