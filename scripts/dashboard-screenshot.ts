/**
 * Takes the README's screenshot of the dashboard (docs/dashboard.png): a Nest app with the admin module on
 * a throwaway SQLite file runs an order through reservations, a retried charge, a pause, a signal wait
 * and a child workflow, then headless chromium opens that execution's page.
 *
 *   npm run build && node dist/scripts/dashboard-screenshot.js [output.png]
 *   (STENT_SCREENSHOT_SCHEME=dark for the dark palette)
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Injectable, Module, type CanActivate } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { chromium } from 'playwright-core';
import { Activity, Stent, StentAdminModule, StentExecutor, StentModule, Workflow } from 'nestjs-stent';

let chargeAttempts = 0;

@Activity({ retry: { maxAttempts: 3, initialDelay: '150ms', jitter: false } })
class Warehouse {
  async reserve(sku: string, quantity: number): Promise<string> {
    await new Promise((done) => setTimeout(done, 120));
    return `reserved ${quantity} × ${sku}`;
  }

  async charge(orderId: string, cents: number): Promise<string> {
    await new Promise((done) => setTimeout(done, 90));
    chargeAttempts += 1;
    if (chargeAttempts === 1) throw new Error('card processor timed out');
    return `charged ${cents} for ${orderId}`;
  }

  async bookCourier(orderId: string): Promise<string> {
    await new Promise((done) => setTimeout(done, 150));
    return `courier booked for ${orderId}`;
  }
}

@Workflow({ name: 'Shipping' })
class ShippingFlow {
  constructor(private readonly warehouse: Warehouse) {}
  async run(orderId: string): Promise<string> {
    return this.warehouse.bookCourier(orderId);
  }
}

@Workflow({ name: 'OrderFulfilment' })
class OrderFlow {
  constructor(
    private readonly warehouse: Warehouse,
    private readonly shipping: ShippingFlow,
  ) {}
  async run(orderId: string, items: Array<{ sku: string; quantity: number }>): Promise<string> {
    Stent.setState('stage', 'reserving');
    for (const item of items) {
      await this.warehouse.reserve(item.sku, item.quantity);
      Stent.incrementCounter('itemsReserved', item.quantity);
    }
    Stent.setProgress({ done: 1, total: 4 });
    await this.warehouse.charge(orderId, 4999);
    Stent.setProgress({ done: 2, total: 4 });
    await Stent.sleep('400ms');
    Stent.setState('stage', 'packing');
    const packed = await Stent.waitForSignal<{ by: string }>('packed');
    Stent.setProgress({ done: 3, total: 4 });
    const courier = await this.shipping.run(orderId);
    Stent.setState('stage', 'shipped');
    Stent.setProgress({ done: 4, total: 4 });
    return `${courier}, packed by ${packed.by}`;
  }
}

/** The screenshot's app needs no real guard; the dashboard's routes still go through one. */
@Injectable()
class LetEveryoneIn implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

async function main(): Promise<void> {
  const output = resolve(process.argv[2] ?? 'docs/dashboard.png');
  const dir = mkdtempSync(join(tmpdir(), 'stent-screenshot-'));
  @Module({
    imports: [
      StentModule.forRoot({ database: { type: 'better-sqlite3', database: join(dir, 'shop.db') }, worker: { pollInterval: '20ms', maxPollInterval: '100ms', suspendAfter: '200ms' } }),
      StentAdminModule.register({ path: '/stent', guards: [LetEveryoneIn] }),
    ],
    providers: [Warehouse, ShippingFlow, OrderFlow],
  })
  class ScreenshotModule {}
  const app = await NestFactory.create(ScreenshotModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const executor = app.get(StentExecutor);
  const profile = mkdtempSync(join(tmpdir(), 'stent-chromium-'));
  try {
    const id = await executor.dispatch('OrderFulfilment', ['order-1042', [{ sku: 'TEA-GREEN', quantity: 2 }, { sku: 'MUG-BLUE', quantity: 1 }]]);
    for (let n = 0; n < 5; n += 1) await executor.dispatch('Shipping', [`order-${1000 + n}`]);
    const deadline = Date.now() + 30_000;
    while ((await executor.getJournal(id)).every((step) => step.kind !== 'signal')) {
      if (Date.now() > deadline) throw new Error('the order never reached its signal wait');
      await new Promise((done) => setTimeout(done, 50));
    }
    await new Promise((done) => setTimeout(done, 300));
    await executor.sendSignal(id, 'packed', { by: 'Ana' });
    const result = await executor.waitFor(id, { timeout: '30s' });
    if (result.state !== 'completed') throw new Error(`the order ended ${result.state}`);

    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.STENT_CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 1280, height: 900 },
      colorScheme: process.env.STENT_SCREENSHOT_SCHEME === 'dark' ? 'dark' : 'light',
    });
    try {
      const page = await context.newPage();
      await page.goto(`${url}/stent/ui#/executions/${encodeURIComponent(id)}`);
      await page.locator('main:not([aria-busy]) .timeline').waitFor({ timeout: 20_000 });
      await page.screenshot({ path: output, fullPage: true });
    } finally {
      await context.close();
    }
    console.log(`wrote ${output}`);
  } finally {
    await app.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
