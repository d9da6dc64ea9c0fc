#include <set>

#include "common/ids.h"
#include "store/postgres/postgres_store_impl.h"

namespace weft {

namespace {

std::optional<Flow> FindFlow(Conn& c, const char* column, const std::string& value,
                             bool for_update = false) {
  std::string sql = std::string("SELECT " FLOW_COLS " FROM flows WHERE ") + column + " = $1";
  if (for_update) sql += " FOR UPDATE";
  return First(c.Exec(sql, Params().Text(value)), ReadFlow<PgRow>);
}

}  // namespace

// ---- flows ------------------------------------------------------------------------

Result<Flow> PostgresStore::CreateFlow(const FlowWrite& write, const std::string& webhook_token) {
  Flow f;
  f.created_at = f.updated_at = impl_->Now();
  f.id = NewId(ToUnixMs(f.created_at));
  f.name = write.name;
  f.description = write.description;
  f.version = 1;
  f.document = write.document;
  f.active = false;
  f.trigger_type = write.trigger_type;
  f.webhook_token = webhook_token;
  f.updated_by = write.actor;
  std::string document = DumpJson(write.document);
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Flow> {
    // The flow and its version 1 in one statement.
    static const std::string sql =
        "WITH f AS (INSERT INTO flows (" FLOW_COLS
        ") VALUES ($1, $2, $3, 1, $4, false, $5, $6, $7, $7, $8, NULL, 0) RETURNING id) "
        "INSERT INTO flow_versions (flow_id, version, document, created_at, created_by) "
        "SELECT id, 1, $4, $7, $8 FROM f";
    Params p;
    p.Text(f.id).Text(f.name).Text(f.description).Text(document).Text(f.trigger_type);
    if (webhook_token.empty()) {
      p.Null();
    } else {
      p.Text(webhook_token);
    }
    p.Time(f.created_at).Text(f.updated_by);
    try {
      c.Exec(sql, p);
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      // A retry whose first attempt did commit finds its own flow.
      if (retry && FindFlow(c, "id", f.id)) return f;
      if (IsUnique(e, "flows_name_key")) return NameTaken("flow", write.name);
      if (IsUnique(e, "flows_webhook_token_key")) return TokenTaken();
      throw;
    }
    return f;
  });
}

Result<Flow> PostgresStore::GetFlow(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Flow> {
    auto f = FindFlow(c, "id", id);
    if (!f) return NotFound("flow " + id);
    return std::move(*f);
  });
}

Result<Flow> PostgresStore::GetFlowByName(const std::string& name) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Flow> {
    auto f = FindFlow(c, "name", name);
    if (!f) return NotFound("flow named \"" + name + "\"");
    return std::move(*f);
  });
}

Result<Flow> PostgresStore::GetFlowByWebhookToken(const std::string& token) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Flow> {
    std::optional<Flow> f;
    if (!token.empty()) f = FindFlow(c, "webhook_token", token);
    // The message never carries the token: it is a secret.
    if (!f) return NotFound("flow for webhook token " + RedactToken(token));
    return std::move(*f);
  });
}

Result<std::vector<Flow>> PostgresStore::ListFlows() {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<Flow>> {
    Rows rows = c.Exec("SELECT " FLOW_COLS " FROM flows ORDER BY name, id");
    std::vector<Flow> flows;
    for (int i = 0; i < rows.size(); ++i) flows.push_back(ReadFlow(PgRow(rows, i)));
    return flows;
  });
}

Result<Flow> PostgresStore::SaveFlow(const std::string& id, const FlowWrite& write,
                                     std::optional<int> base_version,
                                     const std::string& webhook_token) {
  std::string document = DumpJson(write.document);
  TimePoint now = impl_->Now();
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Flow> {
    Txn txn(c);
    // The row lock serialises saves of one flow across nodes.
    Rows rows =
        c.Exec("SELECT " FLOW_COLS " FROM flows WHERE id = $1 FOR UPDATE", Params().Text(id));
    if (rows.empty()) return NotFound("flow " + id);
    Flow f = ReadFlow(PgRow(rows, 0));
    bool identical = rows.Text(0, 4) == document;  // the stored canonical text
    // A retry whose first attempt did commit finds its own version.
    if (retry && identical && base_version && f.version == *base_version + 1) return f;
    if (base_version && *base_version != f.version) {
      return Fail(ErrorCode::kVersionConflict,
                  "flow " + id + " is at version " + std::to_string(f.version) +
                      ", not base_version " + std::to_string(*base_version));
    }
    if (identical) return f;  // no new version
    if (f.webhook_token.empty() && !webhook_token.empty()) f.webhook_token = webhook_token;
    f.name = write.name;
    f.description = write.description;
    f.version += 1;
    f.document = write.document;
    f.trigger_type = write.trigger_type;
    f.updated_at = now;
    f.updated_by = write.actor;
    static const std::string sql =
        "WITH u AS (UPDATE flows SET name = $2, description = $3, version = $4, document = $5, "
        "trigger_type = $6, webhook_token = $7, updated_at = $8, updated_by = $9 "
        "WHERE id = $1 RETURNING id) "
        "INSERT INTO flow_versions (flow_id, version, document, created_at, created_by) "
        "SELECT id, $4, $5, $8, $9 FROM u";
    Params p;
    p.Text(f.id)
        .Text(f.name)
        .Text(f.description)
        .Int(f.version)
        .Text(document)
        .Text(f.trigger_type);
    if (f.webhook_token.empty()) {
      p.Null();
    } else {
      p.Text(f.webhook_token);
    }
    p.Time(f.updated_at).Text(f.updated_by);
    try {
      c.Exec(sql, p);
    } catch (const PgError& e) {
      if (IsUnique(e, "flows_name_key")) return NameTaken("flow", write.name);
      if (IsUnique(e, "flows_webhook_token_key")) return TokenTaken();
      throw;
    }
    txn.Commit();
    return f;
  });
}

Result<void> PostgresStore::DeleteFlow(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<void> {
    // Versions go by ON DELETE CASCADE.
    if (c.Exec("DELETE FROM flows WHERE id = $1", Params().Text(id)).affected() == 0) {
      if (retry) return Ok();  // the first attempt deleted it
      return NotFound("flow " + id);
    }
    return Ok();
  });
}

Result<Flow> PostgresStore::SetFlowActive(const std::string& id, bool active) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Flow> {
    auto f = First(c.Exec("UPDATE flows SET active = $2 WHERE id = $1 RETURNING " FLOW_COLS,
                          Params().Text(id).Bool(active)),
                   ReadFlow<PgRow>);
    if (!f) return NotFound("flow " + id);
    return std::move(*f);
  });
}

Result<Flow> PostgresStore::SetWebhookToken(const std::string& id, const std::string& token) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Flow> {
    Params p;
    p.Text(id);
    if (token.empty()) {
      p.Null();
    } else {
      p.Text(token);
    }
    try {
      auto f =
          First(c.Exec("UPDATE flows SET webhook_token = $2 WHERE id = $1 RETURNING " FLOW_COLS, p),
                ReadFlow<PgRow>);
      if (!f) return NotFound("flow " + id);
      return std::move(*f);
    } catch (const PgError& e) {
      if (IsUnique(e, "flows_webhook_token_key")) return TokenTaken();
      throw;
    }
  });
}

Result<FlowVersion> PostgresStore::GetFlowVersion(const std::string& id, int version) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<FlowVersion> {
    auto v = First(
        c.Exec("SELECT " VERSION_COLS " FROM flow_versions WHERE flow_id = $1 AND version = $2",
               Params().Text(id).Int(version)),
        ReadVersion<PgRow>);
    if (!v) return NotFound("flow " + id + " version " + std::to_string(version));
    return std::move(*v);
  });
}

Result<std::vector<FlowVersion>> PostgresStore::ListFlowVersions(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<FlowVersion>> {
    Rows rows = c.Exec("SELECT " VERSION_COLS
                       " FROM flow_versions WHERE flow_id = $1 ORDER BY version DESC",
                       Params().Text(id));
    // Every flow has its version 1, so no rows means no flow.
    if (rows.empty()) return NotFound("flow " + id);
    std::vector<FlowVersion> versions;
    for (int i = 0; i < rows.size(); ++i) versions.push_back(ReadVersion(PgRow(rows, i)));
    return versions;
  });
}

Result<void> PostgresStore::SetNextRunAt(const std::string& id,
                                         std::optional<TimePoint> next_run_at) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    if (c.Exec("UPDATE flows SET next_run_at = $2 WHERE id = $1",
               Params().Text(id).Time(next_run_at))
            .affected() == 0) {
      return NotFound("flow " + id);
    }
    return Ok();
  });
}

Result<bool> PostgresStore::RecordScheduleFire(const std::string& flow_id, TimePoint scheduled_for,
                                               const Run* in, std::optional<TimePoint> next_run_at,
                                               int64_t missed) {
  std::optional<Run> run;
  if (in) {
    run = *in;
    StampNew(run->id, run->created_at, impl_->Now());
    for (auto& st : run->steps) st.run_id = run->id;
  }
  // A retry after the first attempt committed finds its fire recorded and
  // answers false, as for a fire another scheduler made: the run exists once.
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<bool> {
    Txn txn(c);
    // The flow's row lock serialises the fires of one flow across schedulers
    // on every node, so the check below and the insert are one step.
    if (c.Exec("SELECT 1 FROM flows WHERE id = $1 FOR UPDATE", Params().Text(flow_id)).empty()) {
      return NotFound("flow " + flow_id);
    }
    // Fire times of a flow only move forward: a time at or before the last
    // recorded one was fired already (by another scheduler, or before a restart).
    Rows fired = c.Exec(
        "INSERT INTO schedule_fires (flow_id, scheduled_for) SELECT $1, $2 "
        "WHERE NOT EXISTS (SELECT 1 FROM schedule_fires WHERE flow_id = $1 "
        "AND scheduled_for >= $2)",
        Params().Text(flow_id).Time(scheduled_for));
    if (fired.affected() == 0) return false;
    c.Exec("DELETE FROM schedule_fires WHERE flow_id = $1 AND scheduled_for < $2",
           Params().Text(flow_id).Time(scheduled_for));
    if (run) {
      try {
        InsertRun(c, *run);
      } catch (const PgError& e) {
        if (e.sqlstate != kUniqueViolation) throw;
        return Fail(ErrorCode::kConflict, "run " + run->id + " already exists");
      }
      for (const auto& st : run->steps) UpsertStep(c, st);
    }
    c.Exec("UPDATE flows SET next_run_at = $2, missed_fires = missed_fires + $3 WHERE id = $1",
           Params().Text(flow_id).Time(next_run_at).Int(missed));
    txn.Commit();
    return true;
  });
}

namespace {

// A PostgreSQL array literal ("{"a","b",NULL}") built element by element, for
// statements that take a whole batch as arrays (unnest).
class PgArray {
 public:
  PgArray& Add(std::string_view v) {
    lit_ += lit_.size() > 1 ? ",\"" : "\"";
    for (char ch : v) {
      if (ch == '"' || ch == '\\') lit_ += '\\';
      lit_ += ch;
    }
    lit_ += '"';
    return *this;
  }
  PgArray& Add(int64_t v) { return Add(std::string_view(std::to_string(v))); }
  PgArray& Add(std::optional<TimePoint> t) { return t ? Add(ToUnixMs(*t)) : Null(); }
  PgArray& AddJson(const Json& j) {
    return j.is_null()
               ? Null()
               : Add(std::string_view(j.dump(-1, ' ', false, Json::error_handler_t::replace)));
  }
  PgArray& Null() {
    lit_ += lit_.size() > 1 ? ",NULL" : "NULL";
    return *this;
  }
  std::string Literal() const { return lit_ + "}"; }

 private:
  std::string lit_ = "{";
};

}  // namespace

Result<std::vector<bool>> PostgresStore::RecordScheduleFires(
    const std::vector<ScheduleFire>& fires) {
  if (fires.empty()) return std::vector<bool>{};
  {
    // A batch that names a flow twice: each fire on its own, in order.
    std::set<std::string_view> ids;
    for (const auto& f : fires)
      if (!ids.insert(f.flow_id).second) return Store::RecordScheduleFires(fires);
  }
  // The runs as written: an id and a creation time when the caller left them out.
  std::vector<Run> filled;
  std::vector<const Run*> runs(fires.size(), nullptr);
  filled.reserve(std::count_if(fires.begin(), fires.end(), [](const ScheduleFire& f) {
    return f.run && (f.run->id.empty() || f.run->created_at == TimePoint{});
  }));
  for (size_t i = 0; i < fires.size(); ++i) {
    if (!fires[i].run) continue;
    const Run& r = *fires[i].run;
    if (!r.id.empty() && r.created_at != TimePoint{}) {
      runs[i] = &r;
      continue;
    }
    Run copy = r;
    StampNew(copy.id, copy.created_at, impl_->Now());
    for (auto& st : copy.steps) st.run_id = copy.id;
    filled.push_back(std::move(copy));
    runs[i] = &filled.back();  // no reallocation: reserved above
  }
  // One transaction, a few statements for the whole batch. A retry after the
  // first attempt committed finds every fire recorded and answers false for
  // each, as for fires another scheduler made: each run exists once.
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<bool>> {
    Txn txn(c);
    // Lock the rows of the flows still active, in id order, so the batches of
    // two schedulers (on two nodes) never wait on each other in a cycle. The
    // row lock serialises the fires of one flow across schedulers.
    std::vector<std::string> ids;
    ids.reserve(fires.size());
    for (const auto& f : fires) ids.push_back(f.flow_id);
    Rows locked =
        c.Exec("SELECT id FROM flows WHERE id = ANY($1::text[]) AND active ORDER BY id FOR UPDATE",
               Params().TextArray(ids));
    std::set<std::string> active;
    for (int i = 0; i < locked.size(); ++i) active.insert(locked.Text(i, 0));
    std::vector<bool> out(fires.size(), false);
    if (active.empty()) return out;

    // Fire times of a flow only move forward: a time at or before the last
    // recorded one was fired already (by another scheduler, or before a
    // restart). The new times replace the old ones in one statement (this
    // statement's snapshot sees every fire committed before the locks above).
    PgArray fire_ids, fire_ats;
    for (const auto& f : fires)
      if (active.count(f.flow_id)) {
        fire_ids.Add(f.flow_id);
        fire_ats.Add(ToUnixMs(f.scheduled_for));
      }
    Rows accepted = c.Exec(
        "WITH input AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS t(flow_id, at)), "
        "fresh AS (SELECT i.flow_id, i.at FROM input i WHERE NOT EXISTS (SELECT 1 FROM "
        "schedule_fires s "
        "WHERE s.flow_id = i.flow_id AND s.scheduled_for >= i.at)), "
        "old AS (DELETE FROM schedule_fires s USING fresh WHERE s.flow_id = fresh.flow_id) "
        "INSERT INTO schedule_fires (flow_id, scheduled_for) SELECT flow_id, at FROM fresh "
        "RETURNING flow_id",
        Params().Text(fire_ids.Literal()).Text(fire_ats.Literal()));
    std::set<std::string> fired;
    for (int i = 0; i < accepted.size(); ++i) fired.insert(accepted.Text(i, 0));
    if (fired.empty()) return out;

    // The runs of the fires recorded, in one statement.
    PgArray a[19];
    bool any_run = false;
    for (size_t i = 0; i < fires.size(); ++i) {
      out[i] = fired.count(fires[i].flow_id) > 0;
      const Run* r = runs[i];
      if (!out[i] || !r) continue;
      any_run = true;
      a[0].Add(r->id);
      a[1].Add(r->flow_id);
      a[2].Add(r->flow_name);
      a[3].Add(int64_t{r->flow_version});
      a[4].Add(r->trigger_type);
      a[5].AddJson(r->trigger);
      a[6].Add(std::string_view(ToString(r->status)));
      a[7].Add(r->scheduled_for);
      a[8].Add(std::optional<TimePoint>(r->created_at));
      a[9].Add(r->started_at);
      a[10].Add(r->finished_at);
      a[11].AddJson(r->input);
      a[12].AddJson(r->output);
      a[13].AddJson(r->error);
      a[14].Add(r->retry_of);
      a[15].Add(r->claimed_by);
      a[16].Add(r->lease_until);
      a[17].Add(r->not_before);
      a[18].Add(std::string_view(r->cancel_requested ? "t" : "f"));
    }
    if (any_run) {
      Params p;
      for (auto& arr : a) p.Text(arr.Literal());
      try {
        c.Exec(
            "INSERT INTO runs (" RUN_COLS
            ") SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], "
            "$6::text[], "
            "$7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], "
            "$13::text[], "
            "$14::text[], $15::text[], $16::text[], $17::bigint[], $18::bigint[], $19::boolean[])",
            p);
      } catch (const PgError& e) {
        if (e.sqlstate != kUniqueViolation) throw;
        return Fail(ErrorCode::kConflict, "a run of the batch already exists");
      }
      for (size_t i = 0; i < fires.size(); ++i)
        if (out[i] && runs[i])
          for (const auto& st : runs[i]->steps) UpsertStep(c, st);
    }

    // Each flow's next fire and missed count, in one statement.
    PgArray flow_ids, nexts, missed;
    for (size_t i = 0; i < fires.size(); ++i) {
      if (!out[i]) continue;
      flow_ids.Add(fires[i].flow_id);
      nexts.Add(fires[i].next_run_at);
      missed.Add(fires[i].missed);
    }
    c.Exec(
        "UPDATE flows f SET next_run_at = i.next, missed_fires = f.missed_fires + i.missed "
        "FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS i(id, next, missed) WHERE f.id = "
        "i.id",
        Params().Text(flow_ids.Literal()).Text(nexts.Literal()).Text(missed.Literal()));
    txn.Commit();
    return out;
  });
}

Result<void> PostgresStore::ForEachActiveSchedule(const std::function<void(Flow&& flow)>& fn) {
  std::vector<Flow> flows;
  auto read = impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    Rows rows =
        c.Exec("SELECT " FLOW_COLS " FROM flows WHERE active AND trigger_type = 'schedule'");
    flows.clear();
    flows.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) flows.push_back(ReadFlow(PgRow(rows, i)));
    return Ok();
  });
  if (!read) return read;
  for (auto& f : flows) fn(std::move(f));
  return Ok();
}

Result<void> PostgresStore::SetNextRunAts(
    const std::vector<std::pair<std::string, std::optional<TimePoint>>>& items) {
  if (items.empty()) return Ok();
  PgArray ids, nexts;
  for (const auto& [id, next] : items) {
    ids.Add(id);
    nexts.Add(next);
  }
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    c.Exec(
        "UPDATE flows f SET next_run_at = i.next FROM unnest($1::text[], $2::bigint[]) AS i(id, "
        "next) "
        "WHERE f.id = i.id",
        Params().Text(ids.Literal()).Text(nexts.Literal()));
    return Ok();
  });
}

Result<std::vector<std::pair<std::string, RunSummary>>> PostgresStore::LastRuns() {
  using Out = std::vector<std::pair<std::string, RunSummary>>;
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Out> {
    Rows rows = c.Exec(
        "SELECT f.id, r.id, r.status, r.finished_at FROM flows f CROSS JOIN LATERAL "
        "(SELECT id, status, finished_at FROM runs WHERE flow_id = f.id "
        "ORDER BY created_at DESC, id DESC LIMIT 1) r ORDER BY f.id");
    Out out;
    for (int i = 0; i < rows.size(); ++i) {
      RunSummary r;
      r.id = rows.Text(i, 1);
      r.status = ReadRunStatus(PgRow(rows, i), 2);
      r.finished_at = rows.OptTime(i, 3);
      out.emplace_back(rows.Text(i, 0), std::move(r));
    }
    return out;
  });
}

}  // namespace weft
