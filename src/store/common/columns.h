// The column lists both stores select and insert, in the order the readers
// of row_readers.h expect them. Macros, so that each backend splices them
// into its SQL text at compile time; the SQL itself stays per dialect.
#pragma once

// A flow's own columns; each backend adds its two schedule columns
// (next_run_at, missed_fires) as 11 and 12 in its FLOW_COLS.
#define FLOW_BASE_COLS                                                                          \
  "id, name, description, version, document, active, trigger_type, webhook_token, created_at, " \
  "updated_at, updated_by"
#define VERSION_COLS "flow_id, version, document, created_at, created_by"
#define CONNECTION_COLS \
  "id, name, connector, settings, auth, active, created_at, updated_at, updated_by"
#define RUN_COLS                                                                         \
  "id, flow_id, flow_name, flow_version, trigger_type, trigger, status, scheduled_for, " \
  "created_at, started_at, finished_at, input, output, error, retry_of, claimed_by, "    \
  "lease_until, not_before, cancel_requested"
#define STEP_COLS                                                                        \
  "run_id, path, step_id, uses, seq, status, attempts, started_at, finished_at, input, " \
  "output, error, logs, wake_at, state"
#define DELIVERY_COLS                                                                   \
  "id, flow_id, received_at, method, path, status_code, run_id, headers, query, body, " \
  "content_type, auth_passed"
#define USER_COLS "id, username, password_hash, role, created_at"
#define TOKEN_COLS "id, name, role, prefix, hash, created_at, created_by, expires_at, last_used_at"
#define SESSION_COLS "id_hash, user_id, created_at, last_seen_at, expires_at"

// The unfinished runs: the run queue.
#define UNFINISHED "status IN ('queued', 'running')"
