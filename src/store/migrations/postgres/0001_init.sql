-- weft schema for PostgreSQL, version 1: the same tables as SQLite's 0001.
-- Times are unix milliseconds (bigint), as in SQLite, so both stores compare
-- and page the same way. JSON values are text, not jsonb: jsonb reorders
-- keys, and a flow document keeps the order its author wrote (and the "an
-- identical save makes no version" rule compares the canonical text). Cast to
-- jsonb in ad-hoc queries (document::jsonb -> 'steps'). NULL stands for JSON
-- null; an empty string means "none" for ids. Ids, names and paths use the
-- "C" collation: byte order, as in SQLite and in the cursors.

CREATE TABLE flows (
  id            text COLLATE "C" PRIMARY KEY,
  name          text COLLATE "C" NOT NULL,
  description   text NOT NULL DEFAULT '',
  version       integer NOT NULL,          -- latest version
  document      text NOT NULL,             -- the latest version's document
  active        boolean NOT NULL DEFAULT false,
  trigger_type  text NOT NULL,
  webhook_token text,                      -- NULL until a webhook flow is first saved
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL,
  updated_by    text NOT NULL DEFAULT '',
  next_run_at   bigint,
  missed_fires  bigint NOT NULL DEFAULT 0,
  CONSTRAINT flows_name_key UNIQUE (name),
  CONSTRAINT flows_webhook_token_key UNIQUE (webhook_token)
);

CREATE TABLE flow_versions (
  flow_id    text COLLATE "C" NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  version    integer NOT NULL,
  document   text NOT NULL,
  created_at bigint NOT NULL,
  created_by text NOT NULL DEFAULT '',
  PRIMARY KEY (flow_id, version)
);

CREATE TABLE connections (
  id         text COLLATE "C" PRIMARY KEY,
  name       text COLLATE "C" NOT NULL,
  connector  text NOT NULL,
  settings   text NOT NULL,
  auth       text NOT NULL,
  active     boolean NOT NULL DEFAULT true,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  updated_by text NOT NULL DEFAULT '',
  CONSTRAINT connections_name_key UNIQUE (name)
);

-- Runs outlive their flow (no foreign key to flows).
CREATE TABLE runs (
  id               text COLLATE "C" PRIMARY KEY,
  flow_id          text COLLATE "C" NOT NULL,
  flow_name        text NOT NULL,
  flow_version     integer NOT NULL,
  trigger_type     text NOT NULL,
  trigger          text,
  status           text NOT NULL,          -- queued | running | succeeded | failed | cancelled | skipped
  scheduled_for    bigint,
  created_at       bigint NOT NULL,
  started_at       bigint,
  finished_at      bigint,
  input            text,
  output           text,
  error            text,
  retry_of         text NOT NULL DEFAULT '',
  claimed_by       text NOT NULL DEFAULT '', -- node holding the run, '' when none
  lease_until      bigint,
  not_before       bigint,
  cancel_requested boolean NOT NULL DEFAULT false,
  -- When the run may be claimed (unix ms; 0: now): after its lease, if it is
  -- held, and after not_before. Kept by PostgreSQL, for the queue's indexes.
  available_at     bigint NOT NULL GENERATED ALWAYS AS (GREATEST(
                     CASE WHEN claimed_by = '' OR lease_until IS NULL THEN 0 ELSE lease_until END,
                     COALESCE(not_before, 0))) STORED
);
-- Process Log: newest first, overall and per flow (also the Flow List's last run).
CREATE INDEX runs_by_created ON runs (created_at, id);
CREATE INDEX runs_by_flow ON runs (flow_id, created_at, id);
CREATE INDEX runs_by_status ON runs (status, created_at, id);
-- The queue (ClaimRuns), in two parts so that a claim never walks past runs
-- that are held or waiting: the runs claimable at once, oldest first, and the
-- ones that become claimable at a time (leased, or waiting for not_before).
CREATE INDEX runs_ready ON runs (created_at, id)
  WHERE status IN ('queued', 'running') AND available_at = 0;
CREATE INDEX runs_waiting ON runs (available_at)
  WHERE status IN ('queued', 'running') AND available_at > 0;

CREATE TABLE step_runs (
  run_id      text COLLATE "C" NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  path        text COLLATE "C" NOT NULL,
  step_id     text NOT NULL,
  uses        text NOT NULL,
  seq         integer NOT NULL,            -- execution order within the run
  status      text NOT NULL,               -- pending | running | succeeded | failed | skipped
  attempts    integer NOT NULL DEFAULT 0,
  started_at  bigint,
  finished_at bigint,
  input       text,
  output      text,
  error       text,
  logs        text,
  wake_at     bigint,
  state       text,
  PRIMARY KEY (run_id, path)
);

-- Deliveries outlive their flow too. body is bytea: kept byte for byte.
CREATE TABLE deliveries (
  id           text COLLATE "C" PRIMARY KEY,
  flow_id      text COLLATE "C" NOT NULL,
  received_at  bigint NOT NULL,
  method       text NOT NULL,
  path         text COLLATE "C" NOT NULL,
  status_code  integer NOT NULL,
  run_id       text COLLATE "C" NOT NULL DEFAULT '',
  headers      text NOT NULL,
  query        text NOT NULL,
  body         bytea NOT NULL,
  content_type text NOT NULL DEFAULT '',
  auth_passed  boolean NOT NULL DEFAULT false
);
CREATE INDEX deliveries_by_flow ON deliveries (flow_id, received_at, id);
CREATE INDEX deliveries_by_received ON deliveries (received_at, id);
