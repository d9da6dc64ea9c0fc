-- weft schema, version 1. Times are unix milliseconds (INTEGER); JSON values
-- are TEXT (NULL stands for JSON null); an empty string means "none" for ids.

CREATE TABLE flows (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  description   TEXT NOT NULL DEFAULT '',
  version       INTEGER NOT NULL,          -- latest version
  document      TEXT NOT NULL,             -- the latest version's document
  active        INTEGER NOT NULL DEFAULT 0,
  trigger_type  TEXT NOT NULL,
  webhook_token TEXT UNIQUE,               -- NULL until a webhook flow is first saved
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  updated_by    TEXT NOT NULL DEFAULT '',
  next_run_at   INTEGER,
  missed_fires  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE flow_versions (
  flow_id    TEXT NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  version    INTEGER NOT NULL,
  document   TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (flow_id, version)
) WITHOUT ROWID;

CREATE TABLE connections (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  connector  TEXT NOT NULL,
  settings   TEXT NOT NULL,
  auth       TEXT NOT NULL,
  active     INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL DEFAULT ''
);

-- Runs outlive their flow (no foreign key to flows).
CREATE TABLE runs (
  id               TEXT PRIMARY KEY,
  flow_id          TEXT NOT NULL,
  flow_name        TEXT NOT NULL,
  flow_version     INTEGER NOT NULL,
  trigger_type     TEXT NOT NULL,
  trigger          TEXT,
  status           TEXT NOT NULL,          -- queued | running | succeeded | failed | cancelled | skipped
  scheduled_for    INTEGER,
  created_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  input            TEXT,
  output           TEXT,
  error            TEXT,
  retry_of         TEXT NOT NULL DEFAULT '',
  claimed_by       TEXT NOT NULL DEFAULT '', -- node holding the run, '' when none
  lease_until      INTEGER,
  not_before       INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0
);
-- Process Log: newest first, overall and per flow (also the Flow List's last run).
CREATE INDEX runs_by_created ON runs(created_at, id);
CREATE INDEX runs_by_flow ON runs(flow_id, created_at, id);
CREATE INDEX runs_by_status ON runs(status, created_at, id);
-- The queue: only unfinished runs, oldest first (ClaimRuns).
CREATE INDEX runs_unfinished ON runs(created_at, id) WHERE status IN ('queued', 'running');

CREATE TABLE step_runs (
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  path        TEXT NOT NULL,
  step_id     TEXT NOT NULL,
  uses        TEXT NOT NULL,
  seq         INTEGER NOT NULL,            -- execution order within the run
  status      TEXT NOT NULL,               -- pending | running | succeeded | failed | skipped
  attempts    INTEGER NOT NULL DEFAULT 0,
  started_at  INTEGER,
  finished_at INTEGER,
  input       TEXT,
  output      TEXT,
  error       TEXT,
  logs        TEXT,
  wake_at     INTEGER,
  state       TEXT,
  PRIMARY KEY (run_id, path)
) WITHOUT ROWID;

-- Deliveries outlive their flow too. body is a BLOB: kept byte for byte.
CREATE TABLE deliveries (
  id           TEXT PRIMARY KEY,
  flow_id      TEXT NOT NULL,
  received_at  INTEGER NOT NULL,
  method       TEXT NOT NULL,
  path         TEXT NOT NULL,
  status_code  INTEGER NOT NULL,
  run_id       TEXT NOT NULL DEFAULT '',
  headers      TEXT NOT NULL,
  query        TEXT NOT NULL,
  body         BLOB NOT NULL,
  content_type TEXT NOT NULL DEFAULT '',
  auth_passed  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_by_flow ON deliveries(flow_id, received_at, id);
CREATE INDEX deliveries_by_received ON deliveries(received_at, id);
