import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ConfigurationError, getWorkflowDefinition, StentExecutor } from '../core/index.js';
import { constructorReplay, durableClassOf } from './provider-classes.js';
import { subscribeEventHandlers } from './stent-event-handlers.js';

/**
 * Finds @Workflow and @Activity providers in every module (class providers, useValue, useFactory and
 * providers replaced with overrideProvider) and registers their instances. A workflow runs each
 * execution on a new object built like the provider was (see constructorReplay). Methods marked
 * @OnStentEvent are subscribed to the engine's lifecycle events.
 */
@Injectable()
export class StentExplorer implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Stent');
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly executor: StentExecutor,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  async onModuleInit(): Promise<void> {
    try {
      this.registerDurableProviders();
      this.unsubscribe = subscribeEventHandlers(this.discovery, this.scanner, this.reflector, this.executor.events, this.logger);
    } catch (error) {
      // The application will not start, and a failed start calls no shutdown hook: the database Stent
      // opened would stay open in a process that goes on (a test runner, a supervisor that retries).
      await this.executor.close(0).catch(() => undefined);
      throw error;
    }
    const { workflows, activities } = this.executor.registry.describe();
    this.logger.log(`Registered ${workflows.length} workflow(s) and ${activities.length} activit${activities.length === 1 ? 'y' : 'ies'}`);
  }

  private registerDurableProviders(): void {
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const target = durableClassOf(wrapper);
      if (!target) continue;
      if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
        throw new ConfigurationError(
          `${target.name} is request-scoped or transient (or depends on something that is); durable ${getWorkflowDefinition(target) ? 'workflows' : 'activities'} run outside any request, so they must be singletons`,
        );
      }
      const instance = wrapper.instance as object | undefined;
      if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
      seen.add(instance);
      this.executor.registry.register(instance, { as: target, create: constructorReplay(wrapper) });
    }
  }
}
