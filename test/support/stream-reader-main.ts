/**
 * A stream reader in a process of its own (no worker): reads STENT_TEST_READER's stream with
 * executor.readStream and prints one JSON line per chunk, `{"chunk":{"index":..,"value":..}}`, then
 * `{"end":true}` when the stream ends (or `{"error":...}`). Exits when its parent goes away.
 */
// The engine and the store without Nest (which this process never uses): see worker-main.ts.
import { StentExecutor } from '#stent-engine';
import { createStentStore, databaseFromUrl } from '#stent-store';

interface ReaderConfig {
  url: string;
  executionId: string;
  key: string;
  from?: number;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.STENT_TEST_READER ?? '{}') as ReaderConfig;
  const database = databaseFromUrl(config.url);
  if (database.type === 'postgres') database.poolSize = 2;
  const executor = new StentExecutor({ store: await createStentStore({ database }), worker: false });
  await executor.start({ migrate: false });
  process.stdin.on('end', () => process.exit(2));
  process.stdin.resume();
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');
  for await (const chunk of executor.readStream(config.executionId, config.key, { from: config.from ?? 0 })) {
    process.stdout.write(JSON.stringify({ chunk }) + '\n');
  }
  process.stdout.write(JSON.stringify({ end: true }) + '\n');
  await executor.close('2s');
  process.exit(0);
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }) + '\n');
  process.exit(1);
});
