// Types for the weft HTTP API (docs/api.md). Field names are the server's.
// Where the contract leaves a shape open, the type is permissive and the
// UI normalises it (see normalize.ts).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type TriggerType = 'manual' | 'webhook' | 'schedule' | 'poll';
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface RetryPolicy {
  attempts?: number;
  backoff?: 'fixed' | 'exponential';
  delay?: string;
  max_delay?: string;
}

export interface Step {
  id: string;
  name?: string;
  uses: string;
  connection?: string;
  with?: JsonObject;
  if?: string;
  retry?: RetryPolicy;
  timeout?: string;
  on_error?: 'fail' | 'continue';
  then?: Step[];
  else?: Step[];
  do?: Step[];
  [key: string]: unknown;
}

export type WebhookAuth =
  | { type: 'none' }
  | { type: 'header'; name?: string; value?: string }
  | { type: 'basic'; username?: string; password?: string }
  | {
      type: 'hmac';
      scheme?: 'standard-webhooks' | 'github' | 'custom';
      secret?: string;
      header?: string;
      algorithm?: 'sha256' | 'sha1' | 'sha512';
      encoding?: 'hex' | 'base64';
      prefix?: string;
    };

export interface WebhookSettings {
  methods?: string[];
  auth?: WebhookAuth;
  response?: { mode?: 'accepted' | 'sync'; timeout?: string };
  max_body?: string | number;
}

export type ScheduleKind = 'predefined' | 'once' | 'custom' | 'cron';

export interface Schedule {
  kind: ScheduleKind;
  every?: string;
  at?: string;
  days?: string[];
  days_of_month?: (number | string)[];
  times?: string[];
  between?: [string, string];
  cron?: string;
  start?: string | null;
  end?: string | null;
  timezone?: string;
  misfire?: 'run_once' | 'skip';
  overlap?: 'allow' | 'skip' | 'queue';
}

/** `trigger.poll` of a "New data" trigger (docs/polling.md). */
export interface PollSettings {
  /** A duration (`1m`) or a schedule object (any kind but `once`). */
  every?: string | Schedule;
  source?: { uses?: string; connection?: string; with?: JsonObject };
  start?: 'new' | 'all';
  emit?: 'each' | 'batch';
  batch_size?: number;
  remember?: string;
}

export interface Trigger {
  type: TriggerType;
  webhook?: WebhookSettings;
  schedule?: Schedule;
  poll?: PollSettings;
}

/** POST /flows/{id}/poll/check: what the next poll would emit (a dry run). */
export interface PollCheck {
  source?: string;
  items: { key?: string; item?: Json }[];
  known?: number;
  more?: boolean;
  baseline?: boolean;
  cursor?: Json;
  next_cursor?: Json;
  last_poll_at?: string | null;
  last_error?: string | null;
}

/** The document a client writes (server-managed fields are ignored on write). */
export interface FlowDocument {
  name: string;
  description?: string;
  trigger: Trigger;
  steps: Step[];
  settings?: JsonObject;
  /** Pinned sample data for "Test step": saved with the flow, never read by a run. */
  sample?: FlowSample;
}

export interface FlowSample {
  trigger?: JsonObject;
  steps?: Record<string, { output?: Json }>;
}

/** POST /flows/{id}/steps/{step_id}/test: one step run alone against sample data. */
export interface StepTestResult {
  status: 'succeeded' | 'failed';
  input: Json;
  output: Json;
  error: { code: string; message: string } | null;
  duration_ms: number;
  logs?: { at: string; level: string; message: string }[];
}

export interface LastRun {
  id: string;
  status: RunStatus;
  finished_at?: string | null;
}

/** A flow as the server returns it: the document plus server-managed fields. */
export interface Flow extends FlowDocument {
  id: string;
  version: number;
  active: boolean;
  webhook_url?: string | null;
  next_run_at?: string | null;
  missed_fires?: number;
  schedule_summary?: string | null;
  created_at?: string;
  updated_at?: string;
  updated_by?: string;
  /** Present on a save that succeeded with remarks (unknown connection). */
  warnings?: ApiErrorDetail[] | string[];
}

/** A row of GET /flows. */
export interface FlowRow {
  id: string;
  name: string;
  description?: string;
  version: number;
  active: boolean;
  trigger_type: TriggerType;
  connections?: (string | { name: string; connector?: string })[];
  schedule_summary?: string | null;
  next_run_at?: string | null;
  missed_fires?: number;
  webhook_url?: string | null;
  last_run?: LastRun | null;
  /** Not in the contract; used when present for the Scheduled column's zone. */
  timezone?: string;
}

export interface FlowVersion {
  version: number;
  created_at?: string;
  created_by?: string;
  updated_by?: string;
  document?: FlowDocument;
}

export interface LogLine {
  at?: string;
  level?: string;
  message: string;
}

export interface RunError {
  code?: string;
  message?: string;
  step?: string;
  [key: string]: unknown;
}

export interface StepRun {
  id: string;
  path: string;
  uses: string;
  status: StepStatus;
  attempts?: number;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
  input?: Json;
  output?: Json;
  error?: RunError | null;
  logs?: LogLine[];
}

export interface Run {
  id: string;
  flow_id: string;
  flow_name?: string;
  flow_version?: number;
  /** The trigger context (`{type, ...}`); some servers may send only the type. */
  trigger?: ({ type?: string } & JsonObject) | string | null;
  trigger_type?: string;
  status: RunStatus;
  scheduled_for?: string | null;
  created_at?: string;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
  input?: Json;
  output?: Json;
  error?: RunError | null;
  retry_of?: string | null;
  cancel_requested?: boolean;
  steps?: StepRun[];
}

/**
 * A file a step wrote or a trigger received (docs/files.md): the bytes live in
 * the server's file store, at GET /files/{id}; runs carry only this value.
 */
export interface FileValue {
  type: 'file';
  /** `fil_` and 22 base62 characters. */
  id: string;
  name: string;
  /** Bytes. */
  size: number;
  content_type?: string;
  sha256?: string;
  created_at?: string;
}

export interface CatalogField {
  name: string;
  title?: string;
  label?: string;
  /** string | text | number | integer | boolean | object | array | any | duration | enum | expression */
  type?: string;
  required?: boolean;
  secret?: boolean;
  enum?: Json[];
  default?: Json;
  help?: string;
  description?: string;
  placeholder?: string;
}

export interface CatalogAuthType {
  type?: string;
  name?: string;
  title?: string;
  fields?: CatalogField[];
}

export interface CatalogAction {
  name: string;
  title?: string;
  description?: string;
  inputs?: CatalogField[];
  output?: Json;
  /** Nested step lists of a container utility: ["then","else"] or ["do"]. */
  containers?: string[];
  /** The action also runs without a connection (http.request with an absolute URL). */
  connection_optional?: boolean;
}

/** A "New data" source of a connector (`<connector>.<name>` in `trigger.poll.source.uses`). */
export interface CatalogPollSource {
  name: string;
  title?: string;
  description?: string;
  inputs?: CatalogField[];
  /** What an item looks like (text). */
  item?: Json;
}

export interface RateLimit {
  requests?: number;
  /** A duration: "10s". */
  per?: string;
  burst?: number;
}

export interface Connector {
  name: string;
  /** builtin | user (connector manifests). */
  source?: string;
  version?: string;
  docs_url?: string;
  /** A manifest's default rate limit of its connections; a connection's settings.rate_limit overrides it. */
  rate_limit?: RateLimit;
  poll_sources?: CatalogPollSource[];
  title?: string;
  description?: string;
  icon?: string;
  needs_connection?: boolean;
  fields?: CatalogField[];
  auth_types?: (string | CatalogAuthType)[];
  actions?: CatalogAction[];
}

export interface Connection {
  id: string;
  name: string;
  connector: string;
  settings?: JsonObject;
  auth?: { type?: string } & JsonObject;
  auth_type?: string;
  active: boolean;
  created_at?: string;
  updated_at?: string;
}

export interface ConnectionTestResult {
  ok: boolean;
  message?: string;
  duration_ms?: number;
}

export interface Delivery {
  id: string;
  flow_id?: string;
  received_at?: string;
  created_at?: string;
  method?: string;
  path?: string;
  status?: number;
  status_code?: number;
  run_id?: string | null;
  content_type?: string;
  auth_passed?: boolean;
  size?: number;
  headers?: Record<string, string | string[]>;
  query?: JsonObject;
  body?: Json;
}

export interface Me {
  id?: string;
  username?: string | null;
  role?: 'viewer' | 'editor' | 'admin';
  open?: boolean;
  csrf_token?: string;
  [key: string]: unknown;
}

export interface User {
  id: string;
  username: string;
  role: 'viewer' | 'editor' | 'admin';
  created_at?: string;
}

export interface ApiToken {
  id: string;
  name: string;
  role: 'viewer' | 'editor' | 'admin';
  prefix?: string;
  created_at?: string;
  expires_at?: string | null;
  last_used_at?: string | null;
  token?: string;
}

export interface SchedulePreview {
  next: string[];
  description?: string;
}

export interface ApiErrorDetail {
  path?: string;
  message: string;
}

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: ApiErrorDetail[];
  position?: number;
  [key: string]: unknown;
}

/** One operation of an OpenAPI document, as POST /connectors/import-openapi lists it. */
export interface OpenApiOperation {
  /** The value `?operation=` takes. */
  operation: string;
  action: string;
  method: string;
  path: string;
  tags: string[];
  title?: string;
  selected?: boolean;
}

export interface OpenApiImport {
  /** The manifest as YAML text. */
  manifest: string;
  actions: string[];
  /** How many operations the document has. */
  operations: number;
  operation_list?: OpenApiOperation[];
  notes?: string[];
}
