-- A schedule's state in one narrow row per flow: the last fire time recorded
-- (a time at or before it was fired already), the next fire time and the
-- count of missed fire times. Until now these lived in schedule_fires and in
-- the wide flows row (with the document), so each fire wrote three rows in
-- two tables; now a fire writes this one row (and its run). Reads of a flow
-- take next_run_at and missed_fires from here.
CREATE TABLE schedule_state (
  flow_id       TEXT PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
  last_fired_at INTEGER,
  next_run_at   INTEGER,
  missed_fires  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

INSERT INTO schedule_state (flow_id, last_fired_at, next_run_at, missed_fires)
  SELECT f.id, (SELECT MAX(s.scheduled_for) FROM schedule_fires s WHERE s.flow_id = f.id),
         f.next_run_at, f.missed_fires
  FROM flows f
  WHERE f.next_run_at IS NOT NULL OR f.missed_fires <> 0
     OR EXISTS (SELECT 1 FROM schedule_fires s WHERE s.flow_id = f.id);

DROP TABLE schedule_fires;
ALTER TABLE flows DROP COLUMN next_run_at;
ALTER TABLE flows DROP COLUMN missed_fires;
