import 'reflect-metadata';
import { Injectable, Module, UnauthorizedException, type CanActivate, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Activity, Stent, StentAdminModule, StentExecutor, StentModule, Workflow, type WorkerOptions } from 'nestjs-stent';
import type { TestDatabase } from '../support/databases.js';

/** Flipped by tests: the gateway refuses charges until the "fix" is deployed. */
export const gateway = { works: false };

@Activity({ retry: { maxAttempts: 2, initialDelay: '20ms', jitter: false } })
export class ShopActs {
  async charge(orderId: string): Promise<string> {
    if (!gateway.works) throw new Error(`gateway refused ${orderId}`);
    return `charged ${orderId}`;
  }

  async record(entry: string): Promise<string> {
    return `recorded ${entry}`;
  }
}

/** Finishes at once (the bulk of the executions table). */
@Workflow({ name: 'Ping' })
export class PingFlow {
  async run(n: number): Promise<number> {
    return n;
  }
}

/** Charges: fails (retried once, then dead-lettered) while the gateway refuses. */
@Workflow({ name: 'Checkout', queue: 'payments' })
export class CheckoutFlow {
  constructor(private readonly acts: ShopActs) {}
  async run(orderId: string): Promise<string> {
    return this.acts.charge(orderId);
  }
}

/** Waits for an approval signal, then records it. */
@Workflow({ name: 'Approval' })
export class ApprovalFlow {
  constructor(private readonly acts: ShopActs) {}
  async run(orderId: string): Promise<string> {
    const approval = await Stent.waitForSignal<{ by: string }>('approve');
    return this.acts.record(`${orderId} approved by ${approval.by}`);
  }
}

/** Sleeps for an hour (a running execution to cancel). */
@Workflow({ name: 'Nap' })
export class NapFlow {
  async run(): Promise<string> {
    await Stent.sleep('1h');
    return 'rested';
  }
}

/** A parent with progress, counters and custom state that calls a child workflow. */
@Workflow({ name: 'Batch' })
export class BatchFlow {
  constructor(
    private readonly acts: ShopActs,
    private readonly ping: PingFlow,
  ) {}
  async run(items: string[]): Promise<number> {
    Stent.setState('phase', 'recording');
    for (const item of items) {
      await this.acts.record(item);
      Stent.incrementCounter('recorded');
    }
    Stent.setProgress({ done: items.length, total: items.length });
    const child = await this.ping.run(items.length);
    Stent.setState('phase', 'done');
    return child;
  }
}

export const SESSION_COOKIE = { name: 'stent_session', value: 'operator' };

/** The application's own guard: a session cookie (what a browser sends by itself). */
@Injectable()
export class SessionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const cookies = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.cookie ?? '';
    if (!cookies.split(/;\s*/).includes(`${SESSION_COOKIE.name}=${SESSION_COOKIE.value}`)) throw new UnauthorizedException('sign in first');
    return true;
  }
}

export const FAST: WorkerOptions = { queues: ['default', 'payments'], concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', lease: '10s', suspendAfter: '200ms' };

@Module({ providers: [ShopActs, PingFlow, CheckoutFlow, ApprovalFlow, NapFlow, BatchFlow] })
class ShopModule {}

/** An application on `db` with the admin API and its dashboard at /stent, guarded by the session cookie. */
export async function startDashboardApp(db: TestDatabase): Promise<{ app: INestApplication; url: string; executor: StentExecutor }> {
  @Module({ imports: [StentModule.forRoot({ database: db.options, worker: FAST }), ShopModule, StentAdminModule.register({ path: '/stent', guards: [SessionGuard] })] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1'), executor: app.get(StentExecutor) };
}
