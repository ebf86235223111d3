import { Module, type DynamicModule } from '@nestjs/common';
// The modules' own files, not the package's entry point, which loads TypeORM for its entities.
import { StentModule } from '../../nest/stent.module.js';
import { StentAdminModule } from '../../nest/admin/stent-admin.module.js';
import { ADMIN_TOKEN, AdminTokenGuard } from './admin-token.guard.js';
import type { ServerConfig } from './server-config.js';

/** Stent on the configured database with no worker and no workflow code, and the admin API over it. */
@Module({})
export class AdminServerModule {
  static forConfig(config: ServerConfig): DynamicModule {
    return {
      module: AdminServerModule,
      imports: [
        StentModule.forRoot({ database: config.database, worker: false, migrate: config.migrate, connectTimeout: config.connectTimeout, workflowsFromWorkers: true, codec: config.codec }),
        StentAdminModule.register({
          path: config.path,
          readOnly: config.readOnly,
          ...(config.token ? { guards: [AdminTokenGuard], providers: [{ provide: ADMIN_TOKEN, useValue: config.token }] } : { allowUnguarded: true }),
        }),
      ],
    };
  }
}
