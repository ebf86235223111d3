export { StentModule } from './stent.module.js';
export { STENT_MODULE_OPTIONS, STENT_OPTIONS_TYPE, STENT_ASYNC_OPTIONS_TYPE } from './stent.module-definition.js';
export { STENT_STORE } from './stent.constants.js';
export type { StentModuleOptions } from './stent-module-options.js';
export { Workflow, Activity, InjectStentOptions } from './decorators.js';
export * from './admin/index.js';
export { OnStentEvent } from './on-stent-event.decorator.js';
export { STENT_EVENT_HANDLER_METADATA } from './stent.constants.js';
