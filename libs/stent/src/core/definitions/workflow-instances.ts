/**
 * One object per execution: a workflow's run() never shares `this` with another execution (or with an
 * earlier replay of the same one), while the dependencies it was given stay the application's.
 */

/** A copy of a registered instance: same prototype, same own fields (references shared, not cloned). */
export function copyOf(instance: object): object {
  return Object.create(Object.getPrototypeOf(instance) as object, Object.getOwnPropertyDescriptors(instance)) as object;
}

/**
 * A factory's new object, completed from the registered instance. Runs never change the registered
 * instance (each works on its own object), so its fields hold what was set up outside any run: property
 * injection, values set in lifecycle hooks such as onModuleInit. Every field of it is taken over, except
 * where the new object holds an object of its own (an array, map or other object its constructor made),
 * which is what keeps such state apart between executions.
 */
export function withCarriedFields(fresh: object, registered: object): object {
  const target = fresh as Record<string | symbol, unknown>;
  for (const key of Reflect.ownKeys(registered)) {
    const own = Object.hasOwn(target, key) ? target[key] : undefined;
    if ((typeof own === 'object' && own !== null) || typeof own === 'function') continue;
    Object.defineProperty(target, key, Object.getOwnPropertyDescriptor(registered, key)!);
  }
  return fresh;
}
