-- Poll triggers (docs/polling.md). poll_state: one row per poll flow, the
-- source's cursor and how the last poll went. poll_keys: the keys of the
-- items a flow emitted, each once (the primary key: of two nodes committing
-- one poll, one inserts each key), with when it was last listed;
-- poll_keys_by_age serves forgetting keys older than `remember`.
CREATE TABLE poll_state (
  flow_id      text COLLATE "C" PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
  source       text NOT NULL DEFAULT '',
  cursor       text,
  primed       boolean NOT NULL DEFAULT false,
  last_poll_at bigint,
  last_error   text NOT NULL DEFAULT '',
  polls        bigint NOT NULL DEFAULT 0,
  -- The items of the last poll whose `after` (move, delete) may not have run
  -- yet (weft died right after the commit): done again by the next poll.
  pending_after text
);

CREATE TABLE poll_keys (
  flow_id text COLLATE "C" NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  key     text COLLATE "C" NOT NULL,
  seen_at bigint NOT NULL,
  PRIMARY KEY (flow_id, key)
);
CREATE INDEX poll_keys_by_age ON poll_keys (flow_id, seen_at);
