/**
 * An attempt's AbortController, made only when something asks for its signal or aborts it. A Node
 * AbortSignal is an EventTarget of about 0.6 KB; made eagerly for every attempt it was the largest thing
 * a quick step left for V8 to promote on PostgreSQL (12 MB over a 20,000-way fan-out), while most activity
 * bodies never look at their signal.
 */
export class LazyAbort {
  private controller: AbortController | undefined;

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /** Whether it was aborted, without making a signal to ask. */
  get aborted(): boolean {
    return this.controller?.signal.aborted ?? false;
  }

  abort(reason?: unknown): void {
    this.controller ??= new AbortController();
    this.controller.abort(reason);
  }
}
