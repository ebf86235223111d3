import { Injectable } from '@nestjs/common';
import type { Account } from './billing.js';

const PLANS: Array<Pick<Account, 'plan' | 'monthlyCents'>> = [
  { plan: 'starter', monthlyCents: 900 },
  { plan: 'team', monthlyCents: 4900 },
  { plan: 'business', monthlyCents: 19900 },
];

/** Stands in for the customer database: the accounts due in a billing batch (the same ones every time). */
@Injectable()
export class AccountDirectory {
  async dueAccounts(batchId: string, size: number): Promise<Account[]> {
    return Array.from({ length: size }, (_, index) => ({ id: `${batchId}/acct-${String(index + 1).padStart(4, '0')}`, ...PLANS[index % PLANS.length] }));
  }
}
