-- Which runs reference which files (core/files.h): a run's trigger or a
-- step's output holding a file value. Written in the transaction that
-- writes the value; gone with the run (ON DELETE CASCADE), after which the
-- file sweep (engine/retention) deletes a file no row names any more.
CREATE TABLE run_files (
  file_id text NOT NULL,
  run_id  text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  PRIMARY KEY (file_id, run_id)
);
-- For the cascade: deleting a run looks its references up by run.
CREATE INDEX run_files_by_run ON run_files (run_id);
