-- Webhook idempotency keys: one row per (flow, key) whose request
-- started a run; a key older than 24 h is forgotten and may be taken again.
CREATE TABLE webhook_keys (
  flow_id    TEXT NOT NULL,
  key        TEXT NOT NULL,
  run_id     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (flow_id, key)
);
CREATE INDEX webhook_keys_by_created ON webhook_keys(created_at);
