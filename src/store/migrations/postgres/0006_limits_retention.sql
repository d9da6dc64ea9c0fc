-- Limits and retention.
-- A flow's settings.max_concurrency, read by ClaimRuns (0: no limit). Computed
-- from the document, so no write path has to remember to keep it.
ALTER TABLE flows ADD COLUMN max_concurrency integer NOT NULL
  GENERATED ALWAYS AS (CASE WHEN jsonb_typeof(document::jsonb #> '{settings,max_concurrency}') = 'number'
    THEN LEAST(GREATEST(floor((document::jsonb #>> '{settings,max_concurrency}')::numeric), 0), 1000000)::integer
    ELSE 0 END) STORED;
-- The runs that hold a place under max_concurrency: running (also while
-- waiting in a delay or retry) and queued runs that a worker has claimed.
CREATE INDEX runs_active ON runs (flow_id, status)
  WHERE status = 'running' OR (status = 'queued' AND claimed_by <> '');
-- Retention reads finished runs by when they finished, overall and per flow.
CREATE INDEX runs_finished ON runs (finished_at)
  WHERE status IN ('succeeded', 'failed', 'cancelled', 'skipped');
CREATE INDEX runs_flow_finished ON runs (flow_id, finished_at)
  WHERE status IN ('succeeded', 'failed', 'cancelled', 'skipped');
-- ClaimRuns looks at limited flows only.
CREATE INDEX flows_limited ON flows (id) WHERE max_concurrency > 0;
