/**
 * What a run of sample/full-example/on-a-manual-clock.js must print, checked the same way where it runs
 * in this repository and in a new app that installed the packed library.
 */
import { expect } from 'vitest';

/** What on-a-manual-clock.js prints: how both orders ended and what the payment gateway was asked. */
export interface FullExampleRun {
  approved: { value: unknown; progress: unknown; steps: Array<{ kind: string; name: string; state: string }> };
  rejected: { value: unknown; steps: Array<{ kind: string; name: string; state: string }> };
  ledger: Array<{ call: string; id: string; cents?: number }>;
}

/** The checks every run of the full example passes, wherever it ran (here, or in an app that installed the package). */
export function expectFullExampleRun(printed: FullExampleRun): void {
  expect(printed.approved.value).toEqual({ id: 'rcpt_ord-approved', orderId: 'ord-approved', cents: 1999 });
  expect(printed.approved.progress).toEqual({ stage: 'shipped' });
  expect(printed.approved.steps.map((step) => `${step.kind}:${step.name}`)).toEqual([
    'activity:PaymentActivities.charge',
    'sleep:sleep',
    'signal:approval',
    'activity:PaymentActivities.charge',
    'activity:PaymentActivities.charge',
    'activity:PaymentActivities.capture',
    'activity:PaymentActivities.capture',
    'child:ShippingWorkflow',
    'value:setProgress',
  ]);
  expect(printed.approved.steps.every((step) => step.state === 'completed')).toBe(true);
  expect(printed.rejected.value).toBe('rejected');
  expect(printed.rejected.steps.map((step) => `${step.kind}:${step.name}:${step.state}`)).toEqual([
    'activity:PaymentActivities.charge:completed',
    'sleep:sleep:completed',
    'signal:approval:failed',
    'activity:PaymentActivities.refund:completed',
  ]);
  // Each call the workflows made reached the gateway once.
  expect(printed.ledger).toEqual([
    { call: 'charge', id: 'rcpt_ord-approved', cents: 1999 },
    { call: 'charge', id: 'rcpt_ord-approved/book', cents: 2500 },
    { call: 'charge', id: 'rcpt_ord-approved/pen', cents: 597 },
    { call: 'capture', id: 'rcpt_ord-approved/book' },
    { call: 'capture', id: 'rcpt_ord-approved/pen' },
    { call: 'charge', id: 'rcpt_ord-unanswered', cents: 1999 },
    { call: 'refund', id: 'rcpt_ord-unanswered' },
  ]);
}

/** The last line of output that is JSON. */
export function lastJsonLine<T>(stdout: string): T {
  const line = stdout.trim().split('\n').reverse().find((candidate) => candidate.startsWith('{'));
  if (!line) throw new Error(`no JSON line in:\n${stdout}`);
  return JSON.parse(line) as T;
}
