import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { getActivityDefinition, getWorkflowDefinition, type AnyClass } from '../core/index.js';

const isDurableClass = (candidate: unknown): candidate is AnyClass =>
  typeof candidate === 'function' && (getWorkflowDefinition(candidate) !== undefined || getActivityDefinition(candidate) !== undefined);

/**
 * The @Workflow / @Activity class a provider stands for: its token when the token is such a class (so a
 * provider replaced with overrideProvider, useValue, useFactory or useClass keeps the name it is injected
 * by), else the class of what it provides (a class provider's class; for useValue and useFactory, where
 * Nest records no class, the instance's own constructor).
 */
export function durableClassOf(wrapper: InstanceWrapper): AnyClass | undefined {
  if (isDurableClass(wrapper.token)) return wrapper.token;
  const provided = wrapper.isNotMetatype ? (wrapper.instance as object | undefined)?.constructor : wrapper.metatype;
  return isDurableClass(provided) ? provided : undefined;
}

/**
 * For a class provider, a factory building a new object the way Nest built the registered one: the
 * constructor runs again with the same resolved constructor dependencies (the application's
 * singletons). Undefined where Nest did not construct a class itself (useValue, useFactory) or a
 * dependency is transient (its instance belongs to the registered object alone).
 */
export function constructorReplay(wrapper: InstanceWrapper): (() => object) | undefined {
  const metatype = wrapper.metatype;
  if (wrapper.isNotMetatype || typeof metatype !== 'function') return undefined;
  const dependencies = wrapper.getCtorMetadata() ?? [];
  if (dependencies.some((dependency) => dependency?.isTransient)) return undefined;
  const construct = metatype as new (...args: unknown[]) => object;
  return () => new construct(...Array.from(dependencies, (dependency) => dependency?.instance));
}
