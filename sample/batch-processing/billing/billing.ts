export interface BillingBatch {
  id: string;
  size: number;
}

export interface Account {
  id: string;
  plan: 'starter' | 'team' | 'business';
  monthlyCents: number;
}

export interface Invoice {
  accountId: string;
  invoiceId: string;
  cents: number;
}

export interface FailedAccount {
  accountId: string;
  reason: string;
}

/** The fan-in: what the billing run did, failures included (they are reported, not fatal). */
export interface BillingSummary {
  batchId: string;
  accounts: number;
  billed: number;
  billedCents: number;
  receiptsSent: number;
  failed: FailedAccount[];
}

export interface BillingProgress {
  stage: 'charging' | 'sending receipts' | 'done';
  done: number;
  total: number;
}
