-- How far the webhook journal (<data_dir>/webhooks.journal, see
-- store/sqlite/webhook_journal.h) has been imported into runs and
-- deliveries: its generation and the offset after the last record imported.
-- Written in the same transaction as the rows it imports, so a restart
-- imports each accepted webhook exactly once. One row at most.
CREATE TABLE webhook_journal (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  generation  INTEGER NOT NULL,
  imported_to INTEGER NOT NULL
);
