export { StentAdminModule } from './stent-admin.module.js';
export type { StentAdminOptions } from './stent-admin-options.js';
export { StentAdminExceptionFilter, STATUS_BY_CATEGORY, type AdminErrorBody } from './admin-exception.filter.js';
export { InvalidRequestError } from './invalid-request.error.js';
export { STENT_ADMIN_OPTIONS } from './admin.constants.js';
