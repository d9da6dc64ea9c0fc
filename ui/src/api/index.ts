// Typed functions for every endpoint of docs/api.md the UI uses.
// Paths are relative to /api/v1 (see client.ts).
import { buildUrl, request, setCsrfToken } from './client';
import type {
  ApiToken,
  Connection,
  ConnectionTestResult,
  Connector,
  Delivery,
  FileValue,
  Flow,
  FlowDocument,
  FlowRow,
  FlowVersion,
  Json,
  JsonObject,
  Me,
  OpenApiImport,
  PollCheck,
  Run,
  Schedule,
  SchedulePreview,
  StepTestResult,
  FlowSample,
  User,
} from './types';

export * from './types';
export { ApiError, errorMessage, setCsrfToken, onUnauthorized } from './client';

const enc = encodeURIComponent;

// ---- flows -------------------------------------------------------------------

export const flows = {
  list: (signal?: AbortSignal) =>
    request<{ flows: FlowRow[] }>('/flows', { signal }).then((r) => r.flows ?? []),
  get: (id: string, signal?: AbortSignal) => request<Flow>(`/flows/${enc(id)}`, { signal }),
  create: (doc: FlowDocument) => request<Flow>('/flows', { method: 'POST', body: doc }),
  save: (id: string, doc: FlowDocument, baseVersion?: number) =>
    request<Flow>(`/flows/${enc(id)}`, {
      method: 'PUT',
      body: baseVersion ? { ...doc, base_version: baseVersion } : doc,
    }),
  remove: (id: string) => request<void>(`/flows/${enc(id)}`, { method: 'DELETE' }),
  activate: (id: string) => request<Flow>(`/flows/${enc(id)}/activate`, { method: 'POST' }),
  deactivate: (id: string) => request<Flow>(`/flows/${enc(id)}/deactivate`, { method: 'POST' }),
  setActive: (id: string, active: boolean) => (active ? flows.activate(id) : flows.deactivate(id)),
  clone: (id: string) => request<Flow>(`/flows/${enc(id)}/clone`, { method: 'POST' }),
  exportUrl: (id: string, format: 'yaml' | 'json' = 'yaml') =>
    buildUrl(`/flows/${enc(id)}/export`, { format }),
  exportText: async (id: string, format: 'yaml' | 'json' = 'yaml') => {
    const res = await request<Response>(`/flows/${enc(id)}/export`, { query: { format }, raw: true });
    return res.text();
  },
  /** Sends the file's text as it is: the server reads JSON or YAML. */
  import: (text: string, filename?: string) => {
    const isJson = /\.json$/i.test(filename ?? '') || /^\s*[{[]/.test(text);
    return request<Flow>('/flows/import', {
      method: 'POST',
      body: isJson ? safeJson(text) : text,
      contentType: 'application/yaml',
    });
  },
  versions: (id: string, signal?: AbortSignal) =>
    request<{ versions: FlowVersion[] } | FlowVersion[]>(`/flows/${enc(id)}/versions`, { signal }).then((r) =>
      Array.isArray(r) ? r : (r.versions ?? []),
    ),
  version: (id: string, v: number) => request<FlowVersion & Partial<Flow>>(`/flows/${enc(id)}/versions/${v}`),
  /** A manual run; `untilStep` (Run to here): the run ends after that top-level step. */
  run: (id: string, input?: Json, untilStep?: string) =>
    request<Run>(`/flows/${enc(id)}/runs`, {
      method: 'POST',
      body: { ...(input === undefined ? {} : { input }), ...(untilStep ? { until_step: untilStep } : {}) },
    }),
  rotateWebhook: (id: string) => request<Flow>(`/flows/${enc(id)}/webhook/rotate`, { method: 'POST' }),
  /** Check now: what the next poll would pick (a dry run). */
  checkPoll: (id: string) => request<PollCheck>(`/flows/${enc(id)}/poll/check`, { method: 'POST' }),
  /** Test step: runs one step of the draft alone against a sample; creates no run. */
  testStep: (id: string, stepId: string, flow: FlowDocument, sample?: FlowSample | { run_id: string }) =>
    request<StepTestResult>(`/flows/${enc(id)}/steps/${enc(stepId)}/test`, {
      method: 'POST',
      body: sample === undefined ? { flow } : { flow, sample },
    }),
};

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// ---- runs --------------------------------------------------------------------

export interface RunQuery {
  flow_id?: string;
  status?: string;
  trigger?: string;
  limit?: number;
  cursor?: string;
  /** Runs created at or after this instant (RFC 3339). */
  since?: string;
  /** Runs created before this instant (RFC 3339). */
  until?: string;
}

export interface RetryOptions {
  /** failed_step (default): reuse the outputs of the steps that succeeded; start: run all again. */
  from?: 'failed_step' | 'start';
  /** original (default): the version the run ran with; latest: the flow's latest version. */
  version?: 'original' | 'latest';
}

export interface RetryResult {
  id: string;
  status: number;
  run?: Run;
  error?: { code: string; message: string };
}

export const runs = {
  list: (q: RunQuery, signal?: AbortSignal) =>
    request<{ runs: Run[]; next_cursor?: string | null }>('/runs', { query: { ...q }, signal }),
  get: (id: string, signal?: AbortSignal) => request<Run>(`/runs/${enc(id)}`, { signal }),
  cancel: (id: string) => request<Run>(`/runs/${enc(id)}/cancel`, { method: 'POST' }),
  /** A new run of a failed run (defaults: from the failed step, on the version it ran with). */
  retry: (id: string, opts: RetryOptions = {}) =>
    request<Run>(`/runs/${enc(id)}/retry`, { method: 'POST', body: opts }),
  /** Bulk retry: one result per id, in order. */
  retryMany: (ids: string[], opts: RetryOptions = {}) =>
    request<{ retried: number; results: RetryResult[] }>('/runs/retry', { method: 'POST', body: { ids, ...opts } }),
  eventsUrl: (id: string) => buildUrl(`/runs/${enc(id)}/events`),
};

// ---- connectors & connections -----------------------------------------------

export const connectors = {
  list: (signal?: AbortSignal) =>
    request<{ connectors: Connector[] }>('/connectors', { signal }).then((r) => r.connectors ?? []),
  /** The OpenAPI document's text as it is (JSON or YAML) to a manifest; nothing is stored. */
  importOpenApi: (spec: string, opts: { operations?: string[]; name?: string } = {}) => {
    const q = new URLSearchParams();
    for (const o of opts.operations ?? []) q.append('operation', o);
    if (opts.name) q.set('name', opts.name);
    const qs = q.toString();
    return request<OpenApiImport>(`/connectors/import-openapi${qs ? '?' + qs : ''}`, {
      method: 'POST',
      body: spec,
      contentType: /^\s*[{[]/.test(spec) ? 'application/json' : 'application/yaml',
    });
  },
  /** Adds or replaces a connector manifest (YAML text); answers its catalog entry. */
  save: (manifest: string) =>
    request<Connector>('/connectors', { method: 'POST', body: manifest, contentType: 'application/yaml' }),
};

export interface ConnectionInput {
  name: string;
  connector: string;
  settings: JsonObject;
  auth: JsonObject;
  active: boolean;
}

export const connections = {
  list: (signal?: AbortSignal) =>
    request<{ connections: Connection[] }>('/connections', { signal }).then((r) => r.connections ?? []),
  get: (id: string) => request<Connection>(`/connections/${enc(id)}`),
  create: (c: ConnectionInput) => request<Connection>('/connections', { method: 'POST', body: c }),
  save: (id: string, c: Partial<ConnectionInput>) =>
    request<Connection>(`/connections/${enc(id)}`, { method: 'PUT', body: c }),
  remove: (id: string) => request<void>(`/connections/${enc(id)}`, { method: 'DELETE' }),
  test: (id: string) => request<ConnectionTestResult>(`/connections/${enc(id)}/test`, { method: 'POST' }),
  /** Where the browser goes to authorize an OAuth2 authorization-code connection (a redirect to the provider). */
  oauthStartUrl: (id: string) => buildUrl(`/connections/${enc(id)}/oauth/start`),
};

// ---- deliveries --------------------------------------------------------------

export const deliveries = {
  list: (flowId: string, signal?: AbortSignal, cursor?: string) =>
    request<{ deliveries: Delivery[]; next_cursor?: string | null }>('/deliveries', {
      query: { flow_id: flowId, cursor },
      signal,
    }),
  get: (id: string) => request<Delivery>(`/deliveries/${enc(id)}`),
  /** Run again with this payload: a new run of the flow with the delivery's request as its trigger. */
  replay: (id: string) => request<Run>(`/deliveries/${enc(id)}/replay`, { method: 'POST' }),
};

// ---- schedules & expressions ------------------------------------------------

export const schedules = {
  preview: (schedule: Schedule, count = 5, after?: string, signal?: AbortSignal) =>
    request<SchedulePreview>('/schedules/preview', {
      method: 'POST',
      body: after ? { schedule, count, after } : { schedule, count },
      signal,
    }),
};

export const expressions = {
  /** `expression` is bare JSONata (no {{ }}); binding names without `$`. */
  evaluate: (expression: string, input: Json, bindings: JsonObject = {}, signal?: AbortSignal) =>
    request<{ result?: Json }>('/expressions/evaluate', {
      method: 'POST',
      body: { expression, input, bindings },
      signal,
    }),
};

// ---- files ---------------------------------------------------------------------

export const files = {
  /**
   * The bytes. The session cookie authenticates it like any API call, so a
   * plain link downloads it; `inline` asks to show an image, plain text, PDF
   * or media in place (anything else stays a download).
   */
  url: (id: string, opts: { inline?: boolean } = {}) =>
    buildUrl(`/files/${enc(id)}`, { inline: opts.inline ? 1 : undefined }),
  meta: (id: string, signal?: AbortSignal) => request<FileValue>(`/files/${enc(id)}/meta`, { signal }),
  /**
   * The first `bytes` bytes as text (a Range request; a server that ignores it
   * is read no further than that). Bytes cut in the middle of a character at
   * the end are left out.
   */
  head: async (id: string, bytes = 4096, signal?: AbortSignal): Promise<string> => {
    const res = await request<Response>(`/files/${enc(id)}`, {
      headers: { Accept: '*/*', Range: `bytes=0-${bytes - 1}` },
      raw: true,
      signal,
    });
    const chunks: Uint8Array[] = [];
    let got = 0;
    const reader = res.body?.getReader();
    if (!reader) return '';
    while (got < bytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      got += value.length;
    }
    if (got >= bytes) await reader.cancel().catch(() => {});
    const all = new Uint8Array(Math.min(got, bytes));
    let at = 0;
    for (const c of chunks) {
      const part = c.subarray(0, all.length - at);
      all.set(part, at);
      at += part.length;
      if (at >= all.length) break;
    }
    // stream: true holds back a trailing partial UTF-8 sequence instead of showing U+FFFD.
    return new TextDecoder('utf-8').decode(all, { stream: true });
  },
};

// ---- auth, users, tokens ------------------------------------------------------

export const auth = {
  me: (signal?: AbortSignal) => request<Me>('/me', { signal, quiet401: true }),
  login: async (username: string, password: string) => {
    const r = await request<{ csrf_token?: string }>('/auth/login', {
      method: 'POST',
      body: { username, password },
      quiet401: true,
    });
    setCsrfToken(r?.csrf_token ?? null);
    return r;
  },
  logout: async () => {
    try {
      await request<void>('/auth/logout', { method: 'POST', quiet401: true });
    } finally {
      setCsrfToken(null);
    }
  },
};

export const users = {
  list: (signal?: AbortSignal) =>
    request<{ users: User[] } | User[]>('/users', { signal }).then((r) => (Array.isArray(r) ? r : (r.users ?? []))),
  create: (u: { username: string; password: string; role: string }) =>
    request<User>('/users', { method: 'POST', body: u }),
  remove: (id: string) => request<void>(`/users/${enc(id)}`, { method: 'DELETE' }),
};

export const tokens = {
  list: (signal?: AbortSignal) =>
    request<{ tokens: ApiToken[] } | ApiToken[]>('/tokens', { signal }).then((r) =>
      Array.isArray(r) ? r : (r.tokens ?? []),
    ),
  create: (t: { name: string; role: string; expires_in?: string }) =>
    request<ApiToken>('/tokens', { method: 'POST', body: t }),
  remove: (id: string) => request<void>(`/tokens/${enc(id)}`, { method: 'DELETE' }),
};
