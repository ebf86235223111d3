import { repeatOn, type Clock, type Timer } from './clock.js';

/**
 * A pass that runs every `periodMs` on a Clock and whenever `run()` asks, never two at once: asked while a
 * pass is under way, it runs once more right after it, so what changed meanwhile (a jump of the clock, an
 * execution that finished) is not left for the next period. A failed pass goes to `failed`; the loop goes on.
 */
export class CoalescedLoop {
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private ended = false;

  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
    private readonly pass: () => Promise<unknown>,
    private readonly failed: (error: unknown) => void,
  ) {}

  /** True once stop() was called: a pass under way can check it to end early. */
  get stopped(): boolean {
    return this.ended;
  }

  /** Runs a pass now, then one every period. */
  start(): void {
    if (this.timer || this.ended) return;
    this.timer = repeatOn(this.clock, this.periodMs, () => this.run());
    this.timer.unref();
    this.run();
  }

  /** Ends the period and waits for the pass under way, if any. */
  async stop(): Promise<void> {
    this.ended = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  run(): void {
    if (this.ended) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .then(() => undefined)
      .catch(this.failed)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.run();
        }
      });
  }
}
