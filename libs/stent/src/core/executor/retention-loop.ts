import type { ExecutionState } from '../api/result.js';
import { parseDuration } from '../api/duration.js';
import { repeatOn, type Clock, type Timer } from '../clock/clock.js';
import { ConfigurationError } from '../errors/index.js';
import type { StentLogger } from '../logger.js';
import type { StentStore } from '../store/index.js';
import type { RetentionOptions } from '../api/retention-options.js';

export type { RetentionOptions } from '../api/retention-options.js';
import { cleanupPlan, DEFAULT_CLEANUP_BATCH, runCleanup, runHygiene, type CleanupReport } from './cleanup.js';

export interface RetentionSettings {
  keep: Array<{ state: ExecutionState; ms: number }>;
  workersMs: number;
  intervalMs: number;
  batchSize: number | undefined;
}

const STATES = ['completed', 'failed', 'cancelled', 'timed_out'] as const satisfies readonly ExecutionState[];
const KEYS = [...STATES, 'workers', 'interval', 'batchSize'];
/** The maintenance row whose period the workers race for. */
const JOB = 'retention';

export function retentionSettings(options: RetentionOptions): RetentionSettings {
  if (options === null || typeof options !== 'object') throw new ConfigurationError('worker.retention must be an object such as { completed: "7d", failed: "30d" }');
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) throw new ConfigurationError(`worker.retention: unknown key '${key}'; use ${KEYS.join(', ')}`);
  }
  const keep = STATES.filter((state) => options[state] !== undefined).map((state) => ({ state, ms: parseDuration(options[state]!) }));
  const intervalMs = parseDuration(options.interval ?? '1h');
  if (intervalMs < 1000) throw new ConfigurationError('worker.retention.interval must be at least 1s');
  return { keep, workersMs: parseDuration(options.workers ?? '7d'), intervalMs, batchSize: options.batchSize };
}

/**
 * Applies the retention policy periodically. Every worker with the option checks often; the one whose
 * conditional update of the maintenance row succeeds runs the period's cleanup, so it runs once per
 * interval however many workers share the database. Time comes from the engine Clock.
 */
export class RetentionLoop {
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: StentStore,
    private readonly clock: Clock,
    private readonly logger: StentLogger,
    private readonly owner: string,
    private readonly settings: RetentionSettings,
  ) {
    // Validated at construction so a bad policy fails at start, not an hour later.
    cleanupPlan({ olderThan: settings.workersMs, batchSize: settings.batchSize });
    for (const { state, ms } of settings.keep) cleanupPlan({ olderThan: ms, states: state, batchSize: settings.batchSize });
  }

  start(): void {
    if (this.timer || this.stopped) return;
    // Checking is one small UPDATE; it happens more often than the interval so a period is not missed by much.
    const checkMs = Math.max(1000, Math.min(this.settings.intervalMs, 60_000));
    this.timer = repeatOn(this.clock, checkMs, () => this.tick());
    this.timer.unref();
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    if (this.running || this.stopped) return;
    this.running = this.runIfDue()
      .catch((error: unknown) => this.logger.warn(`Stent retention: cleanup failed (${error instanceof Error ? error.message : String(error)}); it runs again next period`))
      .finally(() => (this.running = undefined));
  }

  private async runIfDue(): Promise<void> {
    const now = this.clock.now();
    if (!(await this.store.claimMaintenance(JOB, this.owner, now, now + this.settings.intervalMs))) return;
    const total = { executions: 0, steps: 0, deadLetters: 0, skipped: 0, cacheRows: 0, workers: 0, keyRows: 0 };
    const reports: CleanupReport[] = [];
    for (const { state, ms } of this.settings.keep) {
      if (this.stopped) return;
      reports.push(await runCleanup(this.store, cleanupPlan({ olderThan: ms, states: state, batchSize: this.settings.batchSize }), now, false));
    }
    reports.push(await runHygiene(this.store, { dryRun: false, batchSize: this.settings.batchSize ?? DEFAULT_CLEANUP_BATCH, workersOlderThanMs: this.settings.workersMs }, now));
    for (const report of reports) {
      for (const key of Object.keys(total) as Array<keyof typeof total>) total[key] += report[key];
    }
    this.logger.log(
      `Stent retention (worker ${this.owner}): removed ${total.executions} execution(s), ${total.steps} step(s), ${total.deadLetters} dead letter(s), ${total.cacheRows} expired cache row(s), ${total.workers} worker row(s), ${total.keyRows} spent key row(s)${total.skipped ? `; kept ${total.skipped} tree(s) still running` : ''}`,
    );
  }
}
