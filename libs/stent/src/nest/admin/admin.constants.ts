export const STENT_ADMIN_OPTIONS = Symbol.for('stent.admin.options');
/** Resolved at startup: refuses unguarded mutations, attaches the OpenAPI description when @nestjs/swagger is there. */
export const STENT_ADMIN_SETUP = Symbol.for('stent.admin.setup');
