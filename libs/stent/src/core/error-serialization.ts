import * as stentErrors from './errors/index.js';

/** An error as stored: its class name, message, stack and own enumerable fields. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  fields?: Record<string, unknown>;
  cause?: SerializedError;
}

type ErrorClass = abstract new (...args: never[]) => Error;
const knownClasses = new Map<string, ErrorClass>();

for (const candidate of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]) {
  knownClasses.set(candidate.name, candidate);
}
for (const candidate of Object.values(stentErrors)) {
  if (typeof candidate === 'function' && candidate.prototype instanceof Error) knownClasses.set(candidate.name, candidate as ErrorClass);
}

/**
 * Make an application error class known so that errors of that class come back from the
 * database as instances of it (instanceof keeps working across processes).
 */
export function registerErrorClass(errorClass: ErrorClass, name: string = errorClass.name): void {
  knownClasses.set(name, errorClass);
}

function plainFields(error: Error): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = {};
  let any = false;
  for (const key of Object.keys(error)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    try {
      fields[key] = JSON.parse(JSON.stringify(value ?? null));
      any = true;
    } catch {
      fields[key] = String(value);
      any = true;
    }
  }
  return any ? fields : undefined;
}

export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    return { name: 'NonErrorThrown', message: typeof error === 'string' ? error : safeString(error), fields: { value: safeJson(error) } };
  }
  const out: SerializedError = {
    name: error.constructor?.name && error.constructor.name !== 'Object' ? error.constructor.name : error.name,
    message: error.message,
    stack: error.stack,
  };
  const fields = plainFields(error);
  if (error.name !== out.name) (fields ?? (out.fields = {}))['name'] = error.name;
  if (fields) out.fields = { ...(out.fields ?? {}), ...fields };
  if (error.cause !== undefined && depth < 5) out.cause = serializeError(error.cause, depth + 1);
  return out;
}

export function deserializeError(data: SerializedError): Error {
  const errorClass = knownClasses.get(data.name) ?? Error;
  const error = Object.create(errorClass.prototype) as Error;
  Object.defineProperty(error, 'message', { value: data.message, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(error, 'stack', { value: data.stack ?? `${data.name}: ${data.message}`, writable: true, configurable: true, enumerable: false });
  if (!knownClasses.has(data.name) || error.name !== data.name) {
    Object.defineProperty(error, 'name', { value: data.name, writable: true, configurable: true, enumerable: false });
  }
  if (data.fields) {
    for (const [key, value] of Object.entries(data.fields)) {
      // Defined, not assigned: a stored field may share its name with an accessor of the class.
      if (key === 'name') Object.defineProperty(error, 'name', { value, writable: true, configurable: true, enumerable: false });
      else Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: true });
    }
  }
  // Errors stored before codes existed get their class's code back.
  if (error instanceof stentErrors.StentError && !Object.hasOwn(error, 'code')) {
    Object.defineProperty(error, 'code', { value: (errorClass as unknown as typeof stentErrors.StentError).code, writable: true, configurable: true, enumerable: true });
  }
  if (data.cause) Object.defineProperty(error, 'cause', { value: deserializeError(data.cause), writable: true, configurable: true, enumerable: false });
  return error;
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function safeJson(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value ?? null));
  } catch {
    return String(value);
  }
}
