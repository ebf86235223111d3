// `nestjs-stent/health`: a separate entry point, so @nestjs/terminus stays an optional peer dependency.
export { StentHealthIndicator } from './stent.health-indicator.js';
export { StentHealthModule } from './stent-health.module.js';
export type { StentHealthOptions } from './stent-health-options.js';
