-- The last schedule fire of each flow, written in the same
-- transaction as its run: a fire time at or before it was fired already, so a
-- restarted or second scheduler never fires a time twice. One row per flow;
-- it goes with its flow. Same table as SQLite's 0003_schedule_fires.
CREATE TABLE schedule_fires (
  flow_id       text COLLATE "C" NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  scheduled_for bigint NOT NULL,
  PRIMARY KEY (flow_id, scheduled_for)
);
