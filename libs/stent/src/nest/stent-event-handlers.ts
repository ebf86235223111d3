import type { Logger } from '@nestjs/common';
import type { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { STENT_EVENT_NAMES, ConfigurationError, type StentEventName, type StentEvents } from '../core/index.js';
import { STENT_EVENT_HANDLER_METADATA } from './stent.constants.js';

/**
 * Subscribes every @OnStentEvent method of every provider and controller to the engine's events; returns
 * what undoes it. A handler's own failure is logged and kept away from the engine.
 */
export function subscribeEventHandlers(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  reflector: Reflector,
  events: StentEvents,
  logger: Logger,
): () => void {
  const undo: Array<() => void> = [];
  const seen = new Set<object>();
  for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object' || seen.has(instance) || !wrapper.isDependencyTreeStatic()) continue;
    seen.add(instance);
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (!prototype) continue;
    for (const methodName of scanner.getAllMethodNames(prototype)) {
      const method = instance[methodName];
      if (typeof method !== 'function') continue;
      const event = reflector.get<StentEventName | undefined>(STENT_EVENT_HANDLER_METADATA, method as (...args: unknown[]) => unknown);
      if (event === undefined) continue;
      if (!STENT_EVENT_NAMES.includes(event)) {
        throw new ConfigurationError(`@OnStentEvent('${String(event)}') on ${prototype.constructor.name}.${methodName}: unknown event (one of ${STENT_EVENT_NAMES.join(', ')})`);
      }
      const where = `${prototype.constructor.name}.${methodName}`;
      const handler = (payload: unknown): void => {
        try {
          const returned = (method as (payload: unknown) => unknown).call(instance, payload);
          if (returned instanceof Promise) returned.catch((error: unknown) => logger.error(`@OnStentEvent('${event}') handler ${where} failed`, error));
        } catch (error) {
          logger.error(`@OnStentEvent('${event}') handler ${where} failed`, error);
        }
      };
      events.on(event, handler as never);
      undo.push(() => events.off(event, handler as never));
    }
  }
  return () => undo.forEach((off) => off());
}
