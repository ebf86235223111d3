import { StentExecutor } from 'nestjs-stent';
import { watchExecution } from '../shared/execution-watcher.js';
import { printJournal } from '../shared/journal-report.js';
import { printOutcome } from '../shared/print-outcome.js';
import { runSample } from '../shared/run-sample.js';
import { AppModule } from './app.module.js';
import type { BillingBatch, BillingProgress } from './billing/billing.js';
import { BillingService } from './billing/billing.service.js';

// Usage: node dist/sample/batch-processing/main.js [batchId] [size]
runSample(AppModule, async (app) => {
  const batch: BillingBatch = { id: process.argv[2] ?? `batch-${Date.now()}`, size: Number(process.argv[3] ?? 120) };
  console.log(`billing run ${batch.id}: ${batch.size} accounts`);
  const billing = app.get(BillingService);
  const executor = app.get(StentExecutor);
  const executionId = await billing.start(batch);
  console.log(`execution ${executionId} started`);
  const stopWatching = watchExecution(
    executor,
    executionId,
    ({ progress, counters }) => {
      const { stage, done, total } = progress as BillingProgress;
      console.log(`progress: ${stage} ${done}/${total} (billed ${counters.billed ?? 0}, failed ${counters.failed ?? 0})`);
    },
    250,
  );
  const result = await billing.outcome(executionId);
  await stopWatching();
  await printJournal(executor, executionId);
  printOutcome(executionId, result);
});
