-- The last schedule fire of each flow, written in the same transaction as its
-- run: a fire time at or before it was fired already, so a restarted or second
-- scheduler never fires a time twice. One row per flow; it goes with its flow.
CREATE TABLE schedule_fires (
  flow_id       TEXT NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  scheduled_for INTEGER NOT NULL,
  PRIMARY KEY (flow_id, scheduled_for)
) WITHOUT ROWID;
