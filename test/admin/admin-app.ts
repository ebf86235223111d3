import 'reflect-metadata';
import { ForbiddenException, Injectable, Module, UnauthorizedException, type CanActivate, type DynamicModule, type ExecutionContext, type INestApplication, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Activity, Stent, StentAdminModule, StentModule, Workflow, type StentAdminOptions, type WorkerOptions } from 'nestjs-stent';
import type { TestDatabase } from '../support/databases.js';

/** Flipped by tests: the charge activity fails until the "fix" is deployed. */
export const billing = { works: false };

@Activity({ retry: { maxAttempts: 1 } })
export class PaymentActs {
  async charge(orderId: string, amount: number): Promise<string> {
    if (!billing.works) throw new Error(`gateway refused ${orderId}`);
    return `charged ${amount} for ${orderId}`;
  }
}

/** Waits for an approval signal, then charges. */
@Workflow({ name: 'Approval' })
export class ApprovalFlow {
  constructor(private readonly payments: PaymentActs) {}
  async run(orderId: string, amount: number): Promise<string> {
    const approval = await Stent.waitForSignal<{ by: string }>('approve');
    Stent.setProgress({ approvedBy: approval.by });
    return this.payments.charge(orderId, amount);
  }
}

/** Charges at once. */
@Workflow({ name: 'Checkout' })
export class CheckoutFlow {
  constructor(private readonly payments: PaymentActs) {}
  async run(orderId: string): Promise<string> {
    return this.payments.charge(orderId, 1);
  }
}

/** Charges, and completes anyway when the charge fails for good (its dead letter stays listed). */
@Workflow({ name: 'Tolerant' })
export class TolerantFlow {
  constructor(private readonly payments: PaymentActs) {}
  async run(orderId: string): Promise<string> {
    try {
      return await this.payments.charge(orderId, 2);
    } catch {
      return 'skipped';
    }
  }
}

/** The user's own guard: 401 without credentials, 403 with the wrong ones. */
@Injectable()
export class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.authorization;
    if (!header) throw new UnauthorizedException('credentials required');
    if (header !== 'Bearer let-me-in') throw new ForbiddenException('not an operator');
    return true;
  }
}

export const AUTH = { authorization: 'Bearer let-me-in' };
export const FAST: WorkerOptions = { concurrency: 4, pollInterval: '20ms', maxPollInterval: '200ms', lease: '10s', suspendAfter: '200ms' };

@Module({ providers: [PaymentActs, ApprovalFlow, CheckoutFlow, TolerantFlow] })
class PaymentsModule {}

/**
 * An application on `db` with the admin API mounted as `admin` says (not at all when undefined), and the
 * `extra` workflow and activity providers a test brings beside the payment ones.
 */
export async function startApp(db: TestDatabase, admin?: StentAdminOptions, worker: WorkerOptions | false = FAST, extra: Provider[] = []): Promise<{ app: INestApplication; url: string }> {
  const imports: Array<DynamicModule | typeof PaymentsModule> = [StentModule.forRoot({ database: db.options, worker }), PaymentsModule];
  if (extra.length > 0) {
    @Module({ providers: extra })
    class ExtraModule {}
    imports.push(ExtraModule);
  }
  if (admin) imports.push(StentAdminModule.register(admin));
  @Module({ imports })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

/** fetch returning status and parsed JSON body. */
export async function call(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = AUTH): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body: parsed };
}
