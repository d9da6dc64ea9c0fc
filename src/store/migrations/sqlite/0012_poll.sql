-- Poll triggers (docs/polling.md). poll_state: one row per poll flow, the
-- source's cursor (JSON), how the last poll went and what `after` may still do. poll_keys: the keys of
-- the items a flow emitted, each once (the primary key), with when it was
-- last listed; poll_keys_by_age serves forgetting keys older than `remember`.
CREATE TABLE poll_state (
  flow_id      TEXT PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
  source       TEXT NOT NULL DEFAULT '',
  cursor       TEXT,
  primed       INTEGER NOT NULL DEFAULT 0,
  last_poll_at INTEGER,
  last_error   TEXT NOT NULL DEFAULT '',
  polls        INTEGER NOT NULL DEFAULT 0,
  -- The items of the last poll whose `after` (move, delete) may not have run
  -- yet (weft died right after the commit): done again by the next poll.
  pending_after TEXT
) WITHOUT ROWID;

CREATE TABLE poll_keys (
  flow_id TEXT NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  key     TEXT NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (flow_id, key)
) WITHOUT ROWID;
CREATE INDEX poll_keys_by_age ON poll_keys (flow_id, seen_at);
