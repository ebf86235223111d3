/** The admin REST API as the dashboard calls it: same origin, the page's own credentials (cookies, basic auth). */

/** An error answer of the admin API (its JSON body: statusCode, code, message, field) or a failed request. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** One line for the error banner: "409 STENT_EXECUTION_FINISHED: ...". */
  describe(): string {
    const where = this.field ? ` (${this.field})` : '';
    return `${this.status ? `${this.status} ` : ''}${this.code}${where}: ${this.message}`;
  }
}

/** Where the admin routes are, as the server wrote it into the page. */
export const API_BASE = document.documentElement.dataset.api ?? '';
export const READ_ONLY = document.documentElement.dataset.readOnly === 'true';

export type Query = Record<string, string | number | undefined>;

function url(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return `${API_BASE}${path}${search ? `?${search}` : ''}`;
}

async function request<T>(method: string, path: string, query?: Query, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url(path, query), {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, 'NETWORK_ERROR', `the admin API did not answer (${(error as Error).message})`);
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed ?? {}) as { code?: unknown; message?: unknown; field?: unknown };
    throw new ApiError(
      response.status,
      typeof error.code === 'string' ? error.code : `HTTP_${response.status}`,
      typeof error.message === 'string' ? error.message : response.statusText || 'request failed',
      typeof error.field === 'string' ? error.field : undefined,
    );
  }
  if (parsed === undefined && text !== '') throw new ApiError(response.status, 'BAD_RESPONSE', 'the admin API answered with something that is not JSON');
  return parsed as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, query),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, undefined, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
};

/** Path segment of an id (ids may hold dots and other characters). */
export const seg = (id: string) => encodeURIComponent(id);
