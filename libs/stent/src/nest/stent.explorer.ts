import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { ConfigurationError, getActivityDefinition, getWorkflowDefinition, StentExecutor } from '../core/index.js';

/** Finds @Workflow and @Activity providers in every module and registers their instances. */
@Injectable()
export class StentExplorer implements OnModuleInit {
  private readonly logger = new Logger('Stent');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly executor: StentExecutor,
  ) {}

  onModuleInit(): void {
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const target = wrapper.metatype;
      if (!target || typeof target !== 'function') continue;
      const workflow = getWorkflowDefinition(target);
      const activity = getActivityDefinition(target);
      if (!workflow && !activity) continue;
      if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
        throw new ConfigurationError(
          `${target.name} is request-scoped or transient (or depends on something that is); durable ${workflow ? 'workflows' : 'activities'} run outside any request, so they must be singletons`,
        );
      }
      const instance = wrapper.instance as object | undefined;
      if (!instance || seen.has(instance)) continue;
      seen.add(instance);
      this.executor.register(instance);
    }
    const { workflows, activities } = this.executor.registry.describe();
    this.logger.log(`Registered ${workflows.length} workflow(s) and ${activities.length} activit${activities.length === 1 ? 'y' : 'ies'}`);
  }
}
