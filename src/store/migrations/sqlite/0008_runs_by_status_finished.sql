-- runs_by_status held every run, so each run moved in it at its insert, its
-- start and its end: three index writes on the busiest paths (a webhook, a
-- schedule fire, a claim). It now holds finished runs only, written once at
-- the end. Queued and running runs are found through the partial indexes of
-- the queue (runs_ready, runs_delayed, runs_claimed), which hold exactly the
-- unfinished runs.
DROP INDEX runs_by_status;
CREATE INDEX runs_by_status ON runs(status, created_at, id)
  WHERE status IN ('succeeded', 'failed', 'cancelled', 'skipped');
