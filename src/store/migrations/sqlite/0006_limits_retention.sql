-- Limits and retention.
-- The flows whose settings.max_concurrency limits how many of their runs go
-- at once (ClaimRuns reads it). Kept by triggers from the flow's document, so
-- no write path has to remember it, and small: only limited flows have a row.
CREATE TABLE flow_limits (
  flow_id         TEXT PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
  max_concurrency INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO flow_limits
  SELECT id, CAST(json_extract(document, '$.settings.max_concurrency') AS INTEGER) FROM flows
  WHERE json_type(document, '$.settings.max_concurrency') IN ('integer', 'real')
    AND json_extract(document, '$.settings.max_concurrency') >= 1;
CREATE TRIGGER flow_limits_insert AFTER INSERT ON flows BEGIN
  INSERT INTO flow_limits
    SELECT NEW.id, CAST(json_extract(NEW.document, '$.settings.max_concurrency') AS INTEGER)
    WHERE json_type(NEW.document, '$.settings.max_concurrency') IN ('integer', 'real')
      AND json_extract(NEW.document, '$.settings.max_concurrency') >= 1;
END;
CREATE TRIGGER flow_limits_update AFTER UPDATE OF document ON flows BEGIN
  DELETE FROM flow_limits WHERE flow_id = NEW.id;
  INSERT INTO flow_limits
    SELECT NEW.id, CAST(json_extract(NEW.document, '$.settings.max_concurrency') AS INTEGER)
    WHERE json_type(NEW.document, '$.settings.max_concurrency') IN ('integer', 'real')
      AND json_extract(NEW.document, '$.settings.max_concurrency') >= 1;
END;
-- The runs that hold a place under max_concurrency: running (also while
-- waiting in a delay or retry) and queued runs that a worker has claimed.
CREATE INDEX runs_active ON runs(flow_id, status)
  WHERE status = 'running' OR (status = 'queued' AND claimed_by <> '');
-- Retention reads finished runs by when they finished, overall and per flow.
CREATE INDEX runs_finished ON runs(finished_at)
  WHERE status IN ('succeeded', 'failed', 'cancelled', 'skipped');
CREATE INDEX runs_flow_finished ON runs(flow_id, finished_at)
  WHERE status IN ('succeeded', 'failed', 'cancelled', 'skipped');
