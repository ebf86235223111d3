// The CRM client the README's concurrency-key example injects: here it holds each push until the test
// lets it go, and counts the pushes of each tenant in flight.
import { Injectable } from '@nestjs/common';

@Injectable()
export class CrmClient {
  readonly inFlight = new Map<string, number>();
  readonly mostAtOnce = new Map<string, number>();
  pushed = 0;
  private readonly held: Array<() => void> = [];

  async push(tenantId: string, batch: number): Promise<void> {
    void batch;
    const now = (this.inFlight.get(tenantId) ?? 0) + 1;
    this.inFlight.set(tenantId, now);
    this.mostAtOnce.set(tenantId, Math.max(now, this.mostAtOnce.get(tenantId) ?? 0));
    await new Promise<void>((resolve) => this.held.push(resolve));
    this.inFlight.set(tenantId, this.inFlight.get(tenantId)! - 1);
    this.pushed++;
  }

  /** Lets every held push finish. */
  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
}
