import { AdminDeadLetters } from './repositories/admin-dead-letters.js';
import { AdminExecutions } from './repositories/admin-executions.js';
import { AdminLoad } from './repositories/admin-load.js';
import { AdminQueries } from './repositories/admin-queries.js';
import { AdminWorkers } from './repositories/admin-workers.js';
import { CacheRepository } from './repositories/cache.js';
import { CleanupRepository } from './repositories/cleanup.js';
import { KeyCleanupRepository } from './repositories/key-cleanup.js';
import { ClaimsRepository } from './repositories/claims.js';
import { HistoryRepository } from './repositories/history.js';
import { DeadLettersRepository } from './repositories/dead-letters.js';
import { EffectsRepository } from './repositories/effects.js';
import { PublishedRepository } from './repositories/published.js';
import { EndingsRepository } from './repositories/endings.js';
import { ExecutionsRepository } from './repositories/executions.js';
import { JournalRepository } from './repositories/journal.js';
import { LeasesRepository } from './repositories/leases.js';
import { ReviveRepository } from './repositories/revive.js';
import { SchedulesRepository } from './repositories/schedules.js';
import { PausesRepository } from './repositories/pauses.js';
import { DispatchKeysRepository } from './repositories/dispatch-keys.js';
import { SignalsRepository } from './repositories/signals.js';
import { StepCompletions } from './repositories/step-completions.js';
import { StepDiscard } from './repositories/step-discard.js';
import { WorkersRepository } from './repositories/workers.js';
import type { SqlContext } from './sql/sql-context.js';

/**
 * The repositories a SqlStore delegates to, one per concern, wired once: which of them builds on which
 * (a journal write completes steps and applies effects, an ending discards steps and dead-letters, ...).
 */
export class SqlRepositories {
  readonly executions: ExecutionsRepository;
  readonly journal: JournalRepository;
  readonly completions: StepCompletions;
  readonly claims: ClaimsRepository;
  readonly history: HistoryRepository;
  readonly endings: EndingsRepository;
  readonly signals: SignalsRepository;
  readonly published: PublishedRepository;
  readonly cache: CacheRepository;
  readonly deadLetters: DeadLettersRepository;
  readonly revival: ReviveRepository;
  readonly leases: LeasesRepository;
  readonly workers: WorkersRepository;
  readonly admin: AdminQueries;
  readonly adminExecutions: AdminExecutions;
  readonly adminDeadLetters: AdminDeadLetters;
  readonly adminWorkers: AdminWorkers;
  readonly adminLoad: AdminLoad;
  readonly cleanup: CleanupRepository;
  readonly keyCleanup: KeyCleanupRepository;
  readonly schedules: SchedulesRepository;
  readonly pauses: PausesRepository;
  readonly dispatchKeys: DispatchKeysRepository;

  constructor(ctx: SqlContext) {
    this.published = new PublishedRepository(ctx);
    const effects = new EffectsRepository(ctx, this.published);
    this.executions = new ExecutionsRepository(ctx);
    this.cache = new CacheRepository(ctx);
    this.deadLetters = new DeadLettersRepository(ctx);
    const discard = new StepDiscard(ctx, this.executions, effects, this.published);
    this.completions = new StepCompletions(ctx, this.cache, this.deadLetters);
    this.journal = new JournalRepository(ctx, this.executions, this.completions, effects, discard);
    this.claims = new ClaimsRepository(ctx);
    this.history = new HistoryRepository(ctx, discard, effects);
    this.endings = new EndingsRepository(ctx, this.journal, this.completions, discard, this.deadLetters, this.executions);
    this.signals = new SignalsRepository(ctx);
    this.revival = new ReviveRepository(ctx, discard);
    this.leases = new LeasesRepository(ctx, this.deadLetters);
    this.workers = new WorkersRepository(ctx);
    this.admin = new AdminQueries(ctx);
    this.adminExecutions = new AdminExecutions(ctx);
    this.adminDeadLetters = new AdminDeadLetters(ctx);
    this.adminWorkers = new AdminWorkers(ctx);
    this.adminLoad = new AdminLoad(ctx);
    this.cleanup = new CleanupRepository(ctx);
    this.keyCleanup = new KeyCleanupRepository(ctx);
    this.schedules = new SchedulesRepository(ctx, this.executions);
    this.pauses = new PausesRepository(ctx);
    this.dispatchKeys = new DispatchKeysRepository(ctx, this.executions);
  }
}
