import { Injectable } from '@nestjs/common';
import { Activity, Stent, Workflow } from 'nestjs-stent';

@Injectable()
export class Greeter {
  calls = 0;
  greet(name: string): string {
    this.calls++;
    return `Hello, ${name}`;
  }
}

@Activity({ retry: { maxAttempts: 3, initialDelay: '10ms' } })
export class GreetActivities {
  failuresLeft = 1;
  constructor(private readonly greeter: Greeter) {}

  async greet(name: string): Promise<string> {
    return this.greeter.greet(name);
  }

  /** Fails once, then succeeds: the retry is part of the run. */
  async shout(text: string): Promise<string> {
    if (this.failuresLeft-- > 0) throw new Error('flaky');
    return text.toUpperCase();
  }
}

/** Two activities (one retried), a durable sleep and a signal, end to end. */
@Workflow()
export class GreetFlow {
  constructor(private readonly acts: GreetActivities) {}

  async run(name: string): Promise<string> {
    const greeting = await this.acts.greet(name);
    await Stent.sleep('20ms');
    const mark = await Stent.waitForSignal<string>('punctuation', { timeout: '30s' });
    return `${await this.acts.shout(greeting)}${mark}`;
  }
}
