// SqliteStore: poll triggers' state and keys (migration 0012, docs/polling.md).
#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

Result<PollState> SqliteStore::GetPollState(const std::string& flow_id) {
  return impl_->Read([&](Conn& c) -> Result<PollState> {
    PollState st;
    st.flow_id = flow_id;
    Stmt s(c,
           "SELECT source, cursor, primed, last_poll_at, last_error, polls, pending_after FROM "
           "poll_state "
           "WHERE flow_id = :id");
    s.Text(":id", flow_id);
    if (s.Step()) {
      st.source = s.ColText(0);
      st.cursor = s.IsNull(1) ? Json() : s.ColJson(1);
      st.primed = s.ColInt(2) != 0;
      st.last_poll_at = s.ColOptTime(3);
      st.last_error = s.ColText(4);
      st.polls = s.ColInt(5);
      st.pending_after = s.IsNull(6) ? Json() : s.ColJson(6);
    }
    return st;
  });
}

Result<std::vector<std::optional<TimePoint>>> SqliteStore::PollKeysSeen(
    const std::string& flow_id, const std::vector<std::string>& keys) {
  return impl_->Read([&](Conn& c) -> Result<std::vector<std::optional<TimePoint>>> {
    std::vector<std::optional<TimePoint>> out(keys.size());
    // One read transaction for the whole list: a consistent answer, and one
    // lock instead of one per key.
    ReadTxn txn(c);
    for (size_t i = 0; i < keys.size(); ++i) {
      Stmt s(c, "SELECT seen_at FROM poll_keys WHERE flow_id = :id AND key = :key");
      s.Text(":id", flow_id).Text(":key", keys[i]);
      if (s.Step()) out[i] = s.ColTime(0);
    }
    return out;
  });
}

Result<PollCommitted> SqliteStore::RecordPoll(const PollCommit& pc) {
  return impl_->Write([&](Conn& c) -> Result<PollCommitted> {
    WriteTxn txn(c);
    PollCommitted out;
    {
      Stmt s(c, "SELECT 1 FROM flows WHERE id = :id AND active = 1");
      s.Text(":id", pc.flow_id);
      if (!s.Step()) return out;  // deactivated (or deleted) meanwhile: nothing is written
    }
    TimePoint now = impl_->Now();
    if (pc.error.empty()) {
      Stmt s(c, "SELECT cursor FROM poll_state WHERE flow_id = :id");
      s.Text(":id", pc.flow_id);
      Json stored = s.Step() && !s.IsNull(0) ? s.ColJson(0) : Json();
      if (stored != pc.from_cursor) {
        out.cursor_moved = true;
        return out;
      }
    }
    if (!pc.error.empty()) {
      Stmt s(c,
             "INSERT INTO poll_state (flow_id, last_poll_at, last_error, polls) "
             "VALUES (:id, :at, :error, 1) ON CONFLICT (flow_id) DO UPDATE SET "
             "last_poll_at = excluded.last_poll_at, last_error = excluded.last_error, "
             "polls = polls + 1");
      s.Text(":id", pc.flow_id).Time(":at", pc.polled_at).Text(":error", pc.error).Run();
      if (pc.failed_run) {
        auto run = InsertRun(c, *pc.failed_run, now);
        if (!run) return Fail(run.error());
        out.runs.push_back(std::move(*run));
      }
      txn.Commit();
      out.recorded = true;
      return out;
    }
    std::vector<size_t> fresh;
    fresh.reserve(pc.items.size());
    for (size_t i = 0; i < pc.items.size(); ++i) {
      if (!pc.keyed) {
        fresh.push_back(i);
        continue;
      }
      Stmt s(c,
             "INSERT INTO poll_keys (flow_id, key, seen_at) VALUES (:id, :key, :at) "
             "ON CONFLICT (flow_id, key) DO NOTHING");
      s.Text(":id", pc.flow_id).Text(":key", pc.items[i].key).Time(":at", pc.polled_at).Run();
      if (c.Changes() > 0) {
        fresh.push_back(i);
        out.new_keys.push_back(pc.items[i].key);
      }
    }
    for (auto& run : MakePollRuns(pc, fresh)) {
      auto stored = InsertRun(c, std::move(run), now);
      if (!stored) return Fail(stored.error());
      out.runs.push_back(std::move(*stored));
    }
    for (const auto& key : pc.refresh_keys) {
      Stmt s(c, "UPDATE poll_keys SET seen_at = :at WHERE flow_id = :id AND key = :key");
      s.Text(":id", pc.flow_id).Text(":key", key).Time(":at", pc.polled_at).Run();
    }
    if (pc.forget_before != TimePoint{}) {
      Stmt s(c,
             "DELETE FROM poll_keys WHERE flow_id = :id AND key IN (SELECT key FROM poll_keys "
             "WHERE flow_id = :id AND seen_at < :before ORDER BY seen_at LIMIT 1000)");
      s.Text(":id", pc.flow_id).Time(":before", pc.forget_before).Run();
    }
    {
      Stmt s(c,
             "INSERT INTO poll_state (flow_id, source, cursor, primed, last_poll_at, last_error, "
             "polls, pending_after) VALUES (:id, :source, :cursor, :primed, :at, '', 1, :pending) "
             "ON CONFLICT (flow_id) DO UPDATE SET source = excluded.source, "
             "cursor = CASE WHEN :keep = 1 THEN cursor ELSE excluded.cursor END, "
             "primed = MAX(primed, excluded.primed), last_poll_at = excluded.last_poll_at, "
             "last_error = '', polls = polls + 1, pending_after = excluded.pending_after");
      s.Text(":id", pc.flow_id)
          .JsonText(":pending", pc.pending_after)
          .Text(":source", pc.source)
          .JsonText(":cursor", pc.cursor ? *pc.cursor : Json())
          .Int(":keep", pc.cursor ? 0 : 1)
          .Int(":primed", pc.primed ? 1 : 0)
          .Time(":at", pc.polled_at)
          .Run();
    }
    txn.Commit();
    out.recorded = true;
    return out;
  });
}

Result<void> SqliteStore::ResetPollPrimed(const std::string& flow_id) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "UPDATE poll_state SET primed = 0 WHERE flow_id = :id");
    s.Text(":id", flow_id).Run();
    return Ok();
  });
}

Result<void> SqliteStore::ClearPollPending(const std::string& flow_id) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "UPDATE poll_state SET pending_after = NULL WHERE flow_id = :id");
    s.Text(":id", flow_id).Run();
    return Ok();
  });
}

}  // namespace weft
