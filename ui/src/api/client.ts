// The one place that talks HTTP to the weft server: same origin, under
// /api/v1, JSON in and out. Turns error bodies into ApiError, sends the CSRF
// token on state-changing requests, and reports 401s so the app can show the
// sign-in page.
import type { ApiErrorBody, ApiErrorDetail } from './types';

export const API_BASE = '/api/v1';

/** An error the server answered (status >= 400) or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ApiErrorDetail[];
  readonly body: ApiErrorBody | null;
  readonly raw: unknown;

  constructor(status: number, body: ApiErrorBody | null, fallback: string, raw?: unknown) {
    super(body?.message || fallback);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.code || (status === 0 ? 'network_error' : `http_${status}`);
    this.details = Array.isArray(body?.details) ? body!.details! : [];
    this.body = body;
    this.raw = raw;
  }

  get isNetwork(): boolean {
    return this.status === 0;
  }
}

const CSRF_KEY = 'weft.csrf';
let csrfToken: string | null = readStored();
let unauthorizedHandler: (() => void) | null = null;

function readStored(): string | null {
  try {
    return localStorage.getItem(CSRF_KEY);
  } catch {
    return null;
  }
}

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
  try {
    if (token) localStorage.setItem(CSRF_KEY, token);
    else localStorage.removeItem(CSRF_KEY);
  } catch {
    /* storage disabled: keep it in memory only */
  }
}

/** Called on any 401 except from the sign-in request itself. */
export function onUnauthorized(handler: (() => void) | null): void {
  unauthorizedHandler = handler;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | null | undefined>;
  signal?: AbortSignal;
  /** Do not trigger the sign-in redirect on 401 (used by /me and /auth/login). */
  quiet401?: boolean;
  /** Answer the raw Response (for downloads). */
  raw?: boolean;
  /** Content-Type for a string body (default text/plain). */
  contentType?: string;
  /** Extra request headers (e.g. Range for the first bytes of a file). */
  headers?: Record<string, string>;
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  let url = API_BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  return url;
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = (opts.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  let body: BodyInit | undefined;
  if (opts.body instanceof FormData) {
    body = opts.body;
  } else if (typeof opts.body === 'string') {
    headers['Content-Type'] = opts.contentType ?? 'text/plain';
    body = opts.body;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method,
      headers,
      body,
      signal: opts.signal,
      credentials: 'same-origin',
    });
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new ApiError(0, null, 'Cannot reach the weft server. Is it running?');
  }

  if (res.status === 401 && !opts.quiet401 && unauthorizedHandler) unauthorizedHandler();

  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    const errBody =
      parsed && typeof parsed === 'object' && 'error' in parsed
        ? ((parsed as { error: ApiErrorBody }).error ?? null)
        : null;
    const fallback = text && !parsed ? text.slice(0, 300) : `${res.status} ${res.statusText || 'error'}`;
    throw new ApiError(res.status, errBody, fallback, parsed);
  }

  if (opts.raw) return res as unknown as T;
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as unknown as T;
  }
}

/** A readable one-line message for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.isNetwork) return e.message;
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}
