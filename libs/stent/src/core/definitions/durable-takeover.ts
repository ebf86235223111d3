import type { WorkflowScope } from '../context.js';
import { DURABLE_METHOD, routeDurableCall, type DurableMethodTag } from './durable-method.js';
import { ConfigurationError } from '../errors/index.js';

type Method = (...args: unknown[]) => unknown;

/** Proxies installed by takeOver, to the function each stands for (so a second registration finds the body). */
const bodies = new WeakMap<Method, Method>();

/**
 * Makes `object[methodName]` durable when it is not the class's own durable method: a stand-in for a
 * workflow or activity class (a `useValue` fake, a subclass overriding the method, another class put in
 * its place). The method is replaced on the object by a proxy of itself: inside a running workflow a
 * call is routed as a durable call, anywhere else it is the original call, and everything else about the
 * function (a test double's recorded calls, for instance) reads through. Returns the original function:
 * the body a worker runs.
 */
export function takeOver(object: object, methodName: string, tag: DurableMethodTag, route: (scope: WorkflowScope, args: unknown[]) => unknown): Method {
  const record = object as Record<string, unknown>;
  const current = record[methodName];
  if (typeof current !== 'function') {
    throw new ConfigurationError(`${describe(object)} stands in for a durable class but has no method ${methodName}()`);
  }
  const known = bodies.get(current as Method);
  if (known) return known;
  const body = current as Method;
  const proxy = new Proxy(body, {
    apply(target, thisArg, args: unknown[]) {
      return routeDurableCall(
        tag.kind === 'workflow' ? `${tag.name}.run` : tag.name,
        (scope) => route(scope, args),
        () => Reflect.apply(target, thisArg, args),
      );
    },
    get(target, property, receiver) {
      return property === DURABLE_METHOD ? tag : Reflect.get(target, property, receiver);
    },
  });
  bodies.set(proxy, body);
  try {
    Object.defineProperty(object, methodName, { value: proxy, writable: true, configurable: true, enumerable: Object.hasOwn(object, methodName) });
  } catch (error) {
    throw new ConfigurationError(`${describe(object)}.${methodName}() cannot be made durable (is the object frozen?)`, { cause: error });
  }
  return body;
}

function describe(object: object): string {
  const name = object.constructor?.name;
  return name && name !== 'Object' ? `An instance of ${name}` : 'An object';
}
