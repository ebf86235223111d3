import type { StentStore } from 'nestjs-stent';

/**
 * `store` with some methods replaced (a replacement calls the store's own method itself, as `store.x`);
 * every other member is the store's, bound to it.
 */
export function overrideStore(store: StentStore, overrides: Partial<StentStore>): StentStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof StentStore];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
