-- Rate limits per connection (core/rate_limit.h, Store::TakeRateSlot): one
-- GCRA row per connection that has been limited or paused, shared by every
-- node. tat is the theoretical arrival time (unix ms) of the next request;
-- last_slot the slot the last TakeRateSlot handed out (what RETURNING
-- reads); paused_until the end of a pause a 429/503 Retry-After asked for
-- (0: none). Each take is one INSERT ... ON CONFLICT DO UPDATE (row lock).
CREATE TABLE connection_rates (
  connection_id text COLLATE "C" PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
  tat           bigint NOT NULL DEFAULT 0,
  last_slot     bigint NOT NULL DEFAULT 0,
  paused_until  bigint NOT NULL DEFAULT 0
);
