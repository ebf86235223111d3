import type { AdminStore } from './admin-store.js';
import type { ControlStore } from './control-store.js';
import type { HotPathStore } from './hot-path-store.js';
import type { HygieneStore } from './hygiene-store.js';
import type { ScheduleStore } from './schedule-store.js';
import type { PauseStore } from './pause-store.js';
import type { DispatchKeyStore } from './dispatch-key-store.js';

export * from './records.js';
export type { WakeEvent, WorkKind } from './wake-event.js';
export { stepsWorkKind } from './wake-event.js';
export * from './admin-records.js';
export * from './history-records.js';
export type { AdminStore } from './admin-store.js';
export type { ControlStore } from './control-store.js';
export type { HotPathStore } from './hot-path-store.js';
export type { DebounceRequest, DispatchKeyStore, SingletonRelease, SingletonRequest } from './dispatch-key-store.js';
export type { PauseKind, PauseRecord, PauseStore } from './pause-store.js';
export type { ScheduleFired, ScheduleFiring, ScheduleRecord, ScheduleStore } from './schedule-store.js';
export type { HygieneStore, CleanupBatchRequest, CleanupBatchResult, CleanupCounts, CleanupPosition, SpentKeyCounts } from './hygiene-store.js';

/**
 * What the engine needs from a database, by concern: the worker's hot path, the executor's operations,
 * admin queries and housekeeping. The persistence layer implements all three per dialect; the engine never sees SQL.
 */
export interface StentStore extends HotPathStore, ControlStore, AdminStore, HygieneStore, ScheduleStore, PauseStore, DispatchKeyStore {}
