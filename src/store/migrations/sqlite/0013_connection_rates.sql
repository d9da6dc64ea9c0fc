-- Rate limits per connection (core/rate_limit.h, Store::TakeRateSlot): one
-- GCRA row per connection that has been limited or paused. tat is the
-- theoretical arrival time (unix ms) of the next request; last_slot the slot
-- the last TakeRateSlot handed out (what RETURNING reads); paused_until the
-- end of a pause a 429/503 Retry-After asked for (0: none).
CREATE TABLE connection_rates (
  connection_id TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
  tat           INTEGER NOT NULL DEFAULT 0,
  last_slot     INTEGER NOT NULL DEFAULT 0,
  paused_until  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
