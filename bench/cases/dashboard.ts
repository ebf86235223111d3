import 'reflect-metadata';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { StentAdminModule, StentModule, type StentDatabaseOptions } from 'nestjs-stent';
import { fillBigTables } from '../big-tables.js';
import { withFreshDatabase } from '../database.js';
import { closeQuietly, openExecutor } from '../engine.js';
import { ALL_DBS } from '../options.js';
import { percentile } from '../percentile.js';
import { log, round } from '../report.js';
import type { BenchCase } from './bench-case.js';

const EXECUTIONS = 10_000;
const LOADS = 7;
const CHROMIUM = process.env.STENT_BENCH_CHROMIUM ?? '/usr/bin/chromium';

/** Each page of the dashboard, and what is on screen once it has painted its data. */
const PAGES = [
  { page: 'overview', route: '/', ready: 'main:not([aria-busy]) .card[data-state=completed]' },
  { page: 'executions', route: '/executions', ready: 'main:not([aria-busy]) table.data tbody tr[data-key]' },
  { page: 'executions_filtered', route: '/executions?workflow=PingFlow&state=completed&offset=5000', ready: 'main:not([aria-busy]) table.data tbody tr[data-key]' },
];

function adminApp(database: StentDatabaseOptions) {
  @Module({ imports: [StentModule.forRoot({ database, worker: false, migrate: false, telemetry: false }), StentAdminModule.register({ allowUnguarded: true })] })
  class DashboardBenchModule {}
  return DashboardBenchModule;
}

/** ms from navigation to the page's data on screen: a new document each time (HTML, scripts, API calls). */
async function load(page: Page, url: string, ready: string): Promise<number> {
  await page.goto('about:blank');
  const started = performance.now();
  const response = await page.goto(url);
  if (response?.status() !== 200) throw new Error(`dashboard: ${url} answered ${response?.status()}`);
  await page.locator(ready).first().waitFor({ timeout: 30_000 });
  return performance.now() - started;
}

/**
 * `dashboard`: first paint of each dashboard page with 10,000 finished executions in the database (issue:
 * under a second), in headless Chromium against the admin module. The first load runs with an empty
 * browser cache (cold); the p50 is over the loads after it (scripts cached, data fetched anew).
 */
export const dashboardCase: BenchCase = {
  name: 'dashboard',
  dbs: ALL_DBS,
  async run(context) {
    await withFreshDatabase(context.db, 'dashboard', async (database) => {
      await closeQuietly(await openExecutor(database.options, false));
      await fillBigTables(database, { finished: EXECUTIONS, dueSteps: 100, backlogExecutions: 10, dueExecutions: 10 });
      let app: INestApplication | undefined;
      let browser: Browser | undefined;
      try {
        app = await NestFactory.create(adminApp(database.options), { logger: false });
        await app.listen(0, '127.0.0.1');
        const { port } = app.getHttpServer().address() as { port: number };
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
        });
        for (const { page: name, route, ready } of PAGES) {
          const browserContext = await browser.newContext();
          const page = await browserContext.newPage();
          const url = `http://127.0.0.1:${port}/stent/ui#${route}`;
          const cold = await load(page, url, ready);
          const warm: number[] = [];
          for (let i = 0; i < LOADS; i++) warm.push(await load(page, url, ready));
          await browserContext.close();
          const p50 = percentile(warm, 50);
          log(`${context.db}: dashboard ${name}: cold ${round(cold, 0)} ms, p50 ${round(p50, 0)} ms over ${LOADS} loads`);
          context.emit({
            case: 'dashboard',
            db: context.db,
            workers: 0,
            steps: 0,
            seconds: p50 / 1000,
            extra: { page: name, executions: EXECUTIONS, cold_ms: round(cold, 1), p50_ms: round(p50, 1), max_ms: round(Math.max(...warm), 1), under_1s: p50 < 1000 && cold < 1000 },
          });
        }
      } finally {
        await browser?.close().catch(() => undefined);
        await app?.close().catch(() => undefined);
      }
    });
  },
};
