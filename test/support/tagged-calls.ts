import { Gate } from './executor-set.js';

/**
 * Activity bodies a test holds by tag: each runs until the test opens its tag (a tag opened before its body
 * starts lets it through), and the calls record which run now, the most that ran at once, the order they
 * started in and how often each tag ran. A test's activity class delegates to one instance, made anew for
 * each test.
 */
export class TaggedCalls {
  readonly running = new Set<string>();
  readonly started: string[] = [];
  readonly runs = new Map<string, number>();
  most = 0;
  private readonly gates = new Map<string, Gate>();

  async hold(tag: string): Promise<string> {
    this.started.push(tag);
    this.running.add(tag);
    this.most = Math.max(this.most, this.running.size);
    this.runs.set(tag, (this.runs.get(tag) ?? 0) + 1);
    try {
      await this.gate(tag).wait();
    } finally {
      this.running.delete(tag);
    }
    return tag;
  }

  open(tag: string): void {
    this.gate(tag).open();
  }

  /** Lets every body held now through (at the end of a test). */
  openAll(): void {
    for (const gate of this.gates.values()) gate.open();
  }

  private gate(tag: string): Gate {
    let gate = this.gates.get(tag);
    if (!gate) this.gates.set(tag, (gate = new Gate()));
    return gate;
  }
}
