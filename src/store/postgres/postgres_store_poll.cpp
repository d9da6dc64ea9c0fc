// PostgresStore: poll triggers' state and keys (migration 0012, docs/polling.md).
#include <unordered_map>

#include "store/postgres/postgres_store_impl.h"

namespace weft {

Result<PollState> PostgresStore::GetPollState(const std::string& flow_id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<PollState> {
    PollState st;
    st.flow_id = flow_id;
    Rows rows = c.Exec(
        "SELECT source, cursor, primed, last_poll_at, last_error, polls, pending_after FROM "
        "poll_state "
        "WHERE flow_id = $1",
        Params().Text(flow_id));
    if (!rows.empty()) {
      st.source = rows.Text(0, 0);
      st.cursor = rows.Json(0, 1);
      st.primed = rows.Bool(0, 2);
      st.last_poll_at = rows.OptTime(0, 3);
      st.last_error = rows.Text(0, 4);
      st.polls = rows.Int(0, 5);
      st.pending_after = rows.Json(0, 6);
    }
    return st;
  });
}

Result<std::vector<std::optional<TimePoint>>> PostgresStore::PollKeysSeen(
    const std::string& flow_id, const std::vector<std::string>& keys) {
  return impl_->Do(Retry::kAlways,
                   [&](Conn& c, bool) -> Result<std::vector<std::optional<TimePoint>>> {
                     std::vector<std::optional<TimePoint>> out(keys.size());
                     if (keys.empty()) return out;
                     // One statement: an index lookup per key, the list as an array.
                     Rows rows = c.Exec(
                         "SELECT t.i, k.seen_at FROM unnest($2::text[]) WITH ORDINALITY AS t(key, "
                         "i) JOIN poll_keys k ON k.flow_id = $1 AND k.key = t.key",
                         Params().Text(flow_id).TextArray(keys));
                     for (int r = 0; r < rows.size(); ++r)
                       out[static_cast<size_t>(rows.Int(r, 0) - 1)] = rows.Time(r, 1);
                     return out;
                   });
}

Result<PollCommitted> PostgresStore::RecordPoll(const PollCommit& pc) {
  // Not retried once it may have committed: a poll that fails is polled
  // again, and its keys (or its cursor) stop doubles.
  return impl_->Do(Retry::kIfNotCommitted, [&](Conn& c, bool) -> Result<PollCommitted> {
    Txn txn(c);
    PollCommitted out;
    // The flow's row lock serialises the commits of one flow across nodes.
    if (c.Exec("SELECT 1 FROM flows WHERE id = $1 AND active FOR UPDATE", Params().Text(pc.flow_id))
            .empty())
      return out;
    TimePoint now = impl_->Now();
    if (!pc.error.empty()) {
      c.Exec(
          "INSERT INTO poll_state (flow_id, last_poll_at, last_error, polls) VALUES ($1, $2, $3, "
          "1) ON CONFLICT (flow_id) DO UPDATE SET last_poll_at = excluded.last_poll_at, "
          "last_error = excluded.last_error, polls = poll_state.polls + 1",
          Params().Text(pc.flow_id).Time(pc.polled_at).Text(pc.error));
      if (pc.failed_run) {
        Run run = *pc.failed_run;
        StampNew(run.id, run.created_at, now);
        InsertRun(c, run);
        out.runs.push_back(std::move(run));
      }
      txn.Commit();
      out.recorded = true;
      return out;
    }
    Rows state =
        c.Exec("SELECT cursor FROM poll_state WHERE flow_id = $1", Params().Text(pc.flow_id));
    Json stored = state.empty() ? Json() : state.Json(0, 0);
    if (stored != pc.from_cursor) {
      out.cursor_moved = true;
      return out;
    }
    std::vector<size_t> fresh;
    if (!pc.keyed) {
      for (size_t i = 0; i < pc.items.size(); ++i) fresh.push_back(i);
    } else if (!pc.items.empty()) {
      std::vector<std::string> keys;
      keys.reserve(pc.items.size());
      for (const auto& item : pc.items) keys.push_back(item.key);
      Rows inserted = c.Exec(
          "INSERT INTO poll_keys (flow_id, key, seen_at) SELECT $1, k, $3 FROM unnest($2::text[]) "
          "AS t(k) ON CONFLICT (flow_id, key) DO NOTHING RETURNING key",
          Params().Text(pc.flow_id).TextArray(keys).Time(pc.polled_at));
      std::unordered_map<std::string, bool> is_new;
      for (int r = 0; r < inserted.size(); ++r) is_new[inserted.Text(r, 0)] = true;
      for (size_t i = 0; i < pc.items.size(); ++i) {
        auto it = is_new.find(pc.items[i].key);
        if (it == is_new.end() || !it->second) continue;
        it->second = false;  // a key listed twice starts one run
        fresh.push_back(i);
        out.new_keys.push_back(pc.items[i].key);
      }
    }
    for (auto& run : MakePollRuns(pc, fresh)) {
      StampNew(run.id, run.created_at, now);
      InsertRun(c, run);
      out.runs.push_back(std::move(run));
    }
    if (!pc.refresh_keys.empty())
      c.Exec("UPDATE poll_keys SET seen_at = $3 WHERE flow_id = $1 AND key = ANY($2::text[])",
             Params().Text(pc.flow_id).TextArray(pc.refresh_keys).Time(pc.polled_at));
    if (pc.forget_before != TimePoint{})
      c.Exec(
          "DELETE FROM poll_keys WHERE flow_id = $1 AND key IN (SELECT key FROM poll_keys "
          "WHERE flow_id = $1 AND seen_at < $2 ORDER BY seen_at LIMIT 1000)",
          Params().Text(pc.flow_id).Time(pc.forget_before));
    c.Exec(
        "INSERT INTO poll_state (flow_id, source, cursor, primed, last_poll_at, last_error, polls, "
        "pending_after) VALUES ($1, $2, $3, $4, $5, '', 1, $7) ON CONFLICT (flow_id) DO UPDATE SET "
        "source = excluded.source, "
        "cursor = CASE WHEN $6 THEN poll_state.cursor ELSE excluded.cursor END, "
        "primed = poll_state.primed OR excluded.primed, last_poll_at = excluded.last_poll_at, "
        "last_error = '', polls = poll_state.polls + 1, pending_after = excluded.pending_after",
        Params()
            .Text(pc.flow_id)
            .Text(pc.source)
            .Json(pc.cursor ? *pc.cursor : Json())
            .Bool(pc.primed)
            .Time(pc.polled_at)
            .Bool(!pc.cursor.has_value())
            .Json(pc.pending_after));
    txn.Commit();
    out.recorded = true;
    return out;
  });
}

Result<void> PostgresStore::ResetPollPrimed(const std::string& flow_id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    c.Exec("UPDATE poll_state SET primed = false WHERE flow_id = $1", Params().Text(flow_id));
    return Ok();
  });
}

Result<void> PostgresStore::ClearPollPending(const std::string& flow_id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    c.Exec("UPDATE poll_state SET pending_after = NULL WHERE flow_id = $1", Params().Text(flow_id));
    return Ok();
  });
}

}  // namespace weft
