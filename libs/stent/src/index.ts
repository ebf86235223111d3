export * from './core/index.js';
export * from './persistence/index.js';
export * from './nest/index.js';
