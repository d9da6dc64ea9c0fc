-- ClaimRuns reads three partial indexes instead of walking every unfinished
-- run: runs ready now (oldest first), delayed runs (by when they are due) and
-- claimed runs (by when their lease ends; no lease counts as ended). So a
-- claim costs the same however many runs are held or waiting.
DROP INDEX runs_unfinished;
CREATE INDEX runs_ready ON runs(created_at, id)
  WHERE status IN ('queued', 'running') AND claimed_by = '' AND not_before IS NULL;
CREATE INDEX runs_delayed ON runs(not_before)
  WHERE status IN ('queued', 'running') AND claimed_by = '' AND not_before IS NOT NULL;
CREATE INDEX runs_claimed ON runs(ifnull(lease_until, 0))
  WHERE status IN ('queued', 'running') AND claimed_by <> '';
