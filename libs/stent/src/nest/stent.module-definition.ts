import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { StentModuleOptions } from './stent-module-options.js';

export const {
  ConfigurableModuleClass: StentConfigurableModule,
  MODULE_OPTIONS_TOKEN: STENT_MODULE_OPTIONS,
  OPTIONS_TYPE: STENT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: STENT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<StentModuleOptions>({ moduleName: 'Stent' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
