export { createStentStore, openStentStore, databaseFromUrl, type StentDatabaseOptions, type StentStoreOptions } from './create-store.js';
export { SqlStore } from './sql-store.js';
export { stentMigrations, runStentMigrations } from './schema/migrator.js';
export { stentEntities, StentExecutionEntity, StentStepEntity, StentDeadLetterEntity, StentWorkerEntity, StentSignalEntity, StentCacheEntity, StentMaintenanceEntity, StentEventEntity, StentStreamEntryEntity } from './schema/entities.js';
export { StentInitialSchema1732500000000 } from './schema/migrations/1732500000000-stent-initial-schema.js';
export { StentDeliveryOrder1733000000000 } from './schema/migrations/1733000000000-stent-delivery-order.js';
export { StentAdminViews1734000000000 } from './schema/migrations/1734000000000-stent-admin-views.js';
export { StentMaintenance1735000000000 } from './schema/migrations/1735000000000-stent-maintenance.js';
export { tableNames, type TableNames } from './schema/table-names.js';
