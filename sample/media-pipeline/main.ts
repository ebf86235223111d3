import { StentExecutor } from 'nestjs-stent';
import { watchExecution } from '../shared/execution-watcher.js';
import { printJournal } from '../shared/journal-report.js';
import { printOutcome } from '../shared/print-outcome.js';
import { runSample } from '../shared/run-sample.js';
import { AppModule } from './app.module.js';
import type { Approval } from './media/media.js';
import { MediaService } from './media/media.service.js';

// Usage: node dist/sample/media-pipeline/main.js [videoId] [approve|reject|none]
// The reviewer's decision is sent once the pipeline waits for it. With `none` this process only runs
// the pipeline; send the decision from a second one with the same video id and approve (or reject).
const DECISIONS: Record<string, Approval | null> = {
  approve: { approved: true, reviewer: 'ops@example.com' },
  reject: { approved: false, reviewer: 'ops@example.com', note: 'audio is out of sync' },
  none: null,
};

runSample(AppModule, async (app) => {
  const videoId = process.argv[2] ?? `video-${Date.now()}`;
  const decision = process.argv[3] ?? 'approve';
  if (!(decision in DECISIONS)) throw new Error(`decision must be approve, reject or none, not '${decision}'`);
  const media = app.get(MediaService);
  const executor = app.get(StentExecutor);
  console.log(`media pipeline for ${videoId} (reviewer decision: ${decision})`);
  const executionId = await media.submit({ id: videoId, title: 'Durable workflows in ten minutes', source: `uploads/${videoId}.mov` });
  console.log(`execution ${executionId} started`);
  let decided = false;
  const stopWatching = watchExecution(executor, executionId, async ({ progress }) => {
    const { stage } = progress as { stage: string };
    console.log(`stage: ${stage}`);
    if (stage !== 'awaiting approval' || decided) return;
    decided = true;
    const approval = DECISIONS[decision];
    if (!approval) {
      console.log(`waiting for a decision: run this sample again with ${videoId} approve (or reject)`);
      return;
    }
    console.log(`reviewer ${approval.reviewer}: ${approval.approved ? 'approved' : `rejected (${approval.note})`}`);
    await media.decide(executionId, approval);
  });
  const result = await media.outcome(executionId);
  await stopWatching();
  await printJournal(executor, executionId);
  printOutcome(executionId, result);
});
