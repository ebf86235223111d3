export { createStentStore, databaseFromUrl, DatabaseUnavailableError, type StentDatabaseOptions, type StentStoreOptions } from './create-store.js';
export { SqlStore } from './sql-store.js';
export { stentMigrations, runStentMigrations } from './migrator.js';
export { stentEntities, StentExecutionEntity, StentStepEntity, StentDeadLetterEntity, StentWorkerEntity, StentSignalEntity, StentCacheEntity } from './entities.js';
export { StentInitialSchema1732500000000 } from './migrations/1732500000000-stent-initial-schema.js';
export { StentDeliveryOrder1733000000000 } from './migrations/1733000000000-stent-delivery-order.js';
export { tableNames, type TableNames } from './table-names.js';
