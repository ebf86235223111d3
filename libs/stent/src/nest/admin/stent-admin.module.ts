import { Logger, Module, type DynamicModule, type Type } from '@nestjs/common';
import { ConfigurationError } from '../../core/index.js';
import { STENT_ADMIN_OPTIONS, STENT_ADMIN_SETUP } from './admin.constants.js';
import { describeAdminRoutes } from './admin-openapi.js';
import { createAdminReadController } from './admin-read.controller.js';
import { createAdminPublishedController } from './admin-published.controller.js';
import { createAdminWriteController } from './admin-write.controller.js';
import { StentAdminExceptionFilter } from './admin-exception.filter.js';
import { createDashboardController, hiddenFromOpenApi } from './dashboard.controller.js';
import type { StentAdminOptions } from './stent-admin-options.js';

function normalizedPath(path: string | undefined): string {
  const trimmed = (path ?? '/stent').trim().replace(/^\/+|\/+$/g, '');
  if (/[?#\s]/.test(trimmed)) throw new ConfigurationError(`StentAdminModule: path '${path}' must be a plain URL path such as '/stent'`);
  return `/${trimmed}`;
}

/**
 * The admin REST API, mounted only where an application imports StentAdminModule.register({...}) next to
 * StentModule: executions, journals, events and streams (SSE), dispatch by name, cancel, signals, retry, dead letters, the registry,
 * workers and stats, behind the application's guards.
 */
@Module({})
export class StentAdminModule {
  static register(options: StentAdminOptions = {}): DynamicModule {
    const path = normalizedPath(options.path);
    const guards = options.guards ?? [];
    const unguarded = !options.readOnly && guards.length === 0;
    // Refused here, while the application's modules are listed: thrown from a provider, the refusal came
    // after StentModule had opened its database, and a failed start leaves nothing that would close it.
    if (unguarded && !options.allowUnguarded) {
      throw new ConfigurationError(
        `StentAdminModule at '${path}': the admin API's mutating routes (dispatch, cancel, signal, retry, fork, rewind, dead-letter replay and discard) need a guard. ` +
          'Pass guards: [YourAuthGuard], or readOnly: true, or allowUnguarded: true if something else (a global guard, a gateway) protects them.',
      );
    }
    const controllers: Array<Type<unknown>> = [createAdminReadController(path, guards), createAdminPublishedController(path, guards)];
    if (!options.readOnly) controllers.push(createAdminWriteController(path, guards));
    const dashboard = options.dashboard === false ? [] : [createDashboardController(path, guards, options.readOnly === true)];
    return {
      module: StentAdminModule,
      imports: options.imports ?? [],
      controllers: [...controllers, ...dashboard],
      providers: [
        ...dashboard.map((controller) => hiddenFromOpenApi(controller)),
        { provide: STENT_ADMIN_OPTIONS, useValue: options },
        ...(options.providers ?? []),
        StentAdminExceptionFilter,
        {
          provide: STENT_ADMIN_SETUP,
          // Runs while the application is created: the routes are described for Swagger before the
          // application builds its document.
          useFactory: async () => {
            const logger = new Logger('StentAdmin');
            if (unguarded) logger.warn(`Admin API at '${path}' mounted WITHOUT a guard (allowUnguarded: true): anyone who reaches it can dispatch, cancel and replay`);
            const described = await describeAdminRoutes(controllers, options.openApiTag ?? 'stent', options.openApiSecurity);
            logger.log(`Admin API mounted at '${path}'${options.readOnly ? ' (read-only)' : ''}${described ? ', described for OpenAPI' : ''}`);
            return { path, described };
          },
        },
      ],
      exports: [],
    };
  }
}
