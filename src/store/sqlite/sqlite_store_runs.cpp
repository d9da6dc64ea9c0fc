#include <algorithm>
#include <array>
#include <tuple>

#include "common/ids.h"
#include "store/common/cursor.h"
#include "store/common/file_refs.h"
#include "store/sqlite/sqlite_migrations.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

void BindRunState(Stmt& s, const Run& r) {
  s.Text(":status", ToString(r.status))
      .Time(":scheduled_for", r.scheduled_for)
      .Time(":started_at", r.started_at)
      .Time(":finished_at", r.finished_at)
      .JsonText(":output", r.output)
      .JsonText(":error", r.error)
      .Text(":claimed_by", r.claimed_by)
      .Time(":lease_until", r.lease_until)
      .Time(":not_before", r.not_before)
      .Int(":cancel_requested", r.cancel_requested ? 1 : 0);
}

namespace {

// A run's JSON columns as stored text (nullopt for SQL NULL): trigger, input,
// output, error. ClaimRuns parses them after its write, not inside it.
using RunJsonText = std::array<std::optional<std::string>, 4>;

Run ReadRunKeepingJsonText(Stmt& s, RunJsonText& text) {
  for (int i = 0; i < 4; ++i) {
    const int col = store::kRunJsonCols[i];
    text[i] = s.IsNull(col) ? std::nullopt : std::optional<std::string>(s.ColText(col));
  }
  return store::ReadRunWithoutJson(SqliteRow(s));
}

Result<void> ParseRunJson(Run& r, const RunJsonText& text) {
  Json* fields[4] = {&r.trigger, &r.input, &r.output, &r.error};
  for (int i = 0; i < 4; ++i) {
    if (!text[i]) continue;
    std::string error;
    auto j = ParseJson(*text[i], &error);
    if (!j)
      return Fail(ErrorCode::kInternal, "stored JSON of run " + r.id + " is unreadable: " + error);
    *fields[i] = std::move(*j);
  }
  return Ok();
}

// Inserts or replaces the step run (run_id, path); an existing row keeps its
// seq, and a new row with seq <= 0 goes after the run's last step. False when
// the run does not exist.
bool UpsertStep(Conn& c, const StepRun& st) {
  Stmt s(c, "INSERT INTO step_runs (" STEP_COLS
            ") VALUES (:run_id, :path, :step_id, :uses, "
            "CASE WHEN :seq > 0 THEN :seq "
            "ELSE (SELECT COALESCE(MAX(seq), 0) + 1 FROM step_runs WHERE run_id = :run_id) END, "
            ":status, :attempts, :started_at, :finished_at, :input, :output, :error, :logs, "
            ":wake_at, :state) "
            "ON CONFLICT (run_id, path) DO UPDATE SET step_id = excluded.step_id, "
            "uses = excluded.uses, status = excluded.status, attempts = excluded.attempts, "
            "started_at = excluded.started_at, finished_at = excluded.finished_at, "
            "input = excluded.input, output = excluded.output, error = excluded.error, "
            "logs = excluded.logs, wake_at = excluded.wake_at, state = excluded.state");
  s.Text(":run_id", st.run_id)
      .Text(":path", st.path)
      .Text(":step_id", st.step_id)
      .Text(":uses", st.uses)
      .Int(":seq", st.seq)
      .Text(":status", ToString(st.status))
      .Int(":attempts", st.attempts)
      .Time(":started_at", st.started_at)
      .Time(":finished_at", st.finished_at)
      .JsonText(":input", st.input)
      .JsonText(":output", st.output)
      .JsonText(":error", st.error)
      .JsonText(":logs", st.logs)
      .Time(":wake_at", st.wake_at)
      .JsonText(":state", st.state);
  try {
    s.Run();
  } catch (const SqlError& e) {
    if (IsConstraint(e, SQLITE_CONSTRAINT_FOREIGNKEY)) return false;
    throw;
  }
  if (st.status == StepStatus::kSucceeded)
    InsertFileRefs(c, st.run_id, store::FileIdsIn(st.output));
  return true;
}

}  // namespace

// ---- runs ----------------------------------------------------------------------------

// Inserts `run` (and the steps given with it); kConflict when the id exists.
Result<Run> InsertRun(Conn& c, Run run, TimePoint now) {
  StampNew(run.id, run.created_at, now);
  for (auto& st : run.steps) st.run_id = run.id;
  // One statement commits on its own; steps given with the run (a retry's
  // reused steps) go in the same transaction.
  std::optional<WriteTxn> txn;
  if (!run.steps.empty() || !store::FileIdsIn(run.trigger).empty()) txn.emplace(c);
  {
    Stmt s(c, kInsertRun);
    s.Text(":id", run.id)
        .Text(":flow_id", run.flow_id)
        .Text(":flow_name", run.flow_name)
        .Int(":flow_version", run.flow_version)
        .Text(":trigger_type", run.trigger_type)
        .JsonText(":trigger", run.trigger)
        .Time(":created_at", run.created_at)
        .JsonText(":input", run.input)
        .Text(":retry_of", run.retry_of);
    BindRunState(s, run);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if (IsConstraint(e, SQLITE_CONSTRAINT_PRIMARYKEY)) {
        return Fail(ErrorCode::kConflict, "run " + run.id + " already exists");
      }
      throw;
    }
  }
  for (const auto& st : run.steps) UpsertStep(c, st);
  InsertFileRefs(c, run.id, store::FileIdsIn(run.trigger));
  if (txn) txn->Commit();
  return run;
}

Result<Run> SqliteStore::CreateRun(const Run& in) {
  return impl_->Write([&](Conn& c) -> Result<Run> { return InsertRun(c, in, impl_->Now()); });
}

namespace {

// Sets a flow's next fire time in its schedule_state row (made on first use);
// changes nothing when the flow does not exist.
void StoreNextRunAt(Conn& c, const std::string& id, std::optional<TimePoint> next) {
  Stmt s(c,
         "INSERT INTO schedule_state (flow_id, next_run_at) SELECT id, :next FROM flows WHERE id = "
         ":id "
         "ON CONFLICT (flow_id) DO UPDATE SET next_run_at = excluded.next_run_at");
  s.Time(":next", next).Text(":id", id).Run();
}

}  // namespace

Result<void> SqliteStore::SetNextRunAt(const std::string& id,
                                       std::optional<TimePoint> next_run_at) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    StoreNextRunAt(c, id, next_run_at);
    if (c.Changes() == 0) return NotFound("flow " + id);
    return Ok();
  });
}

namespace {

// One schedule fire inside the caller's transaction (RecordScheduleFire(s)).
// With `only_active`, a fire of an inactive flow is refused like a repeated one.
// One statement records the fire: the flow's schedule_state row takes the
// fire time, next fire and missed count only if the flow exists (and is
// active, with `only_active`) and the time is later than its last fire (fire
// times of a flow only move forward: a time at or before the last was fired
// already, by another scheduler or before a restart). A refused fire writes
// nothing.
Result<bool> RecordFire(Conn& c, const std::string& flow_id, TimePoint scheduled_for,
                        const Run* run, std::optional<TimePoint> next_run_at, int64_t missed,
                        bool only_active, TimePoint now) {
  {
    Stmt s(
        c,
        "INSERT INTO schedule_state (flow_id, last_fired_at, next_run_at, missed_fires) "
        "SELECT id, :at, :next, :missed FROM flows WHERE id = :id AND (:any = 1 OR active = 1) "
        "ON CONFLICT (flow_id) DO UPDATE SET last_fired_at = excluded.last_fired_at, "
        "next_run_at = excluded.next_run_at, missed_fires = missed_fires + excluded.missed_fires "
        "WHERE last_fired_at IS NULL OR last_fired_at < excluded.last_fired_at");
    s.Text(":id", flow_id)
        .Time(":at", scheduled_for)
        .Time(":next", next_run_at)
        .Int(":missed", missed)
        .Int(":any", only_active ? 0 : 1)
        .Run();
  }
  if (c.Changes() == 0) {
    if (only_active) return false;
    Stmt s(c, "SELECT 1 FROM flows WHERE id = :id");
    s.Text(":id", flow_id);
    if (!s.Step()) return NotFound("flow " + flow_id);
    return false;
  }
  if (run) {
    auto inserted = InsertRun(c, *run, now);
    if (!inserted) return Fail(inserted.error());
  }
  return true;
}

}  // namespace

Result<std::vector<bool>> SqliteStore::RecordScheduleFires(const std::vector<ScheduleFire>& fires) {
  if (fires.empty()) return std::vector<bool>{};
  return impl_->Write([&](Conn& c) -> Result<std::vector<bool>> {
    WriteTxn txn(c);
    std::vector<bool> out;
    out.reserve(fires.size());
    TimePoint now = impl_->Now();
    for (const auto& f : fires) {
      auto r = RecordFire(c, f.flow_id, f.scheduled_for, f.run ? &*f.run : nullptr, f.next_run_at,
                          f.missed, true, now);
      if (!r) return Fail(r.error());  // the whole batch rolls back
      out.push_back(*r);
    }
    txn.Commit();
    return out;
  });
}

Result<void> SqliteStore::ForEachActiveSchedule(const std::function<void(Flow&& flow)>& fn) {
  return impl_->Read([&](Conn& c) -> Result<void> {
    // Only what the scheduler reads: SQLite cuts the trigger out of each
    // document, so the load parses ~100 bytes a flow instead of its whole
    // document (most of the load's CPU at 100,000 flows).
    Stmt s(c,
           "SELECT f.id, f.name, f.version, json_extract(f.document, '$.trigger'), s.next_run_at, "
           "ifnull(s.missed_fires, 0) FROM flows f LEFT JOIN schedule_state s ON s.flow_id = f.id "
           "WHERE f.active = 1 AND f.trigger_type = 'schedule'");
    while (s.Step()) {
      Flow f;
      f.id = s.ColText(0);
      f.name = s.ColText(1);
      f.version = static_cast<int>(s.ColInt(2));
      f.active = true;
      f.trigger_type = "schedule";
      f.document = Json{{"trigger", s.ColJson(3)}};
      f.next_run_at = s.ColOptTime(4);
      f.missed_fires = s.ColInt(5);
      fn(std::move(f));
    }
    return Ok();
  });
}

Result<void> SqliteStore::SetNextRunAts(
    const std::vector<std::pair<std::string, std::optional<TimePoint>>>& items) {
  if (items.empty()) return Ok();
  return impl_->Write([&](Conn& c) -> Result<void> {
    WriteTxn txn(c);
    for (const auto& [id, next] : items) StoreNextRunAt(c, id, next);
    txn.Commit();
    return Ok();
  });
}

Result<bool> SqliteStore::RecordScheduleFire(const std::string& flow_id, TimePoint scheduled_for,
                                             const Run* run, std::optional<TimePoint> next_run_at,
                                             int64_t missed) {
  return impl_->Write([&](Conn& c) -> Result<bool> {
    WriteTxn txn(c);
    auto r = RecordFire(c, flow_id, scheduled_for, run, next_run_at, missed, false, impl_->Now());
    if (!r || !*r) return r;
    txn.Commit();
    return true;
  });
}

// A queued run of a flow at its max_concurrency waits: `running` runs (also
// while delayed) and claimed queued runs with a live lease hold the places.
// The condition reads flow_limits (limited flows only) and the runs_active
// index (migration 0006); the first OR term repeats that index's WHERE so
// SQLite may use it.
#define CLAIM_WITHIN_LIMITS                                                              \
  " AND (status = 'running' OR flow_id NOT IN (SELECT l.flow_id FROM flow_limits l "     \
  "WHERE l.max_concurrency <= (SELECT COUNT(*) FROM runs a WHERE a.flow_id = l.flow_id " \
  "AND (a.status = 'running' OR (a.status = 'queued' AND a.claimed_by <> '')) "          \
  "AND (a.status = 'running' OR ifnull(a.lease_until, 0) > :now))))"

Result<std::vector<Run>> SqliteStore::ClaimRuns(const std::string& node, int max, TimePoint now,
                                                TimePoint lease_until) {
  if (max <= 0) return std::vector<Run>{};
  std::vector<RunJsonText>
      json;  // parsed after the write: the group commit waits for nothing but SQL
  // Unguarded (no savepoint in a group commit): nothing here fails on
  // purpose; an error after a claim rolls the whole commit back.
  auto claimed = impl_->WriteUnguarded([&](Conn& c) -> Result<std::vector<Run>> {
    json.clear();
    // One statement under the write lock: no run can be handed out twice.
    // Each branch reads its own partial index (migration 0002), at most :max
    // rows; the oldest :max of the three are taken. The limits are counted
    // once per statement, so while any flow has one, runs are claimed one
    // statement at a time.
    static const std::string sql =
        "UPDATE runs SET claimed_by = :node, lease_until = :lease_until WHERE id IN ("
        "SELECT id FROM ("
        "SELECT * FROM (SELECT id, created_at FROM runs INDEXED BY runs_ready "
        "WHERE status IN ('queued', 'running') AND claimed_by = '' AND not_before IS "
        "NULL" CLAIM_WITHIN_LIMITS
        " ORDER BY created_at, id LIMIT :max) "
        "UNION ALL "
        "SELECT * FROM (SELECT id, created_at FROM runs INDEXED BY runs_delayed "
        "WHERE status IN ('queued', 'running') AND claimed_by = '' "
        "AND not_before IS NOT NULL AND not_before <= :now" CLAIM_WITHIN_LIMITS
        " ORDER BY created_at, id LIMIT :max) "
        "UNION ALL "
        "SELECT * FROM (SELECT id, created_at FROM runs INDEXED BY runs_claimed "
        "WHERE status IN ('queued', 'running') AND claimed_by <> '' "
        "AND ifnull(lease_until, 0) <= :now AND (not_before IS NULL OR not_before <= "
        ":now)" CLAIM_WITHIN_LIMITS
        " ORDER BY created_at, id LIMIT :max)) "
        "ORDER BY created_at, id LIMIT :max) RETURNING " RUN_COLS;
    std::optional<WriteTxn> txn;
    if (max > 1) txn.emplace(c, WriteTxn::kNoSavepoint);
    // With no flow limited (flow_limits empty), one statement takes the whole batch.
    int per_statement = 1;
    if (max > 1) {
      Stmt any(c, "SELECT 1 FROM flow_limits LIMIT 1");
      if (!any.Step()) per_statement = max;
    }
    std::vector<Run> runs;
    for (int taken = 0; taken < max;) {
      Stmt s(c, sql);
      s.Text(":node", node)
          .Time(":lease_until", lease_until)
          .Time(":now", now)
          .Int(":max", per_statement);
      size_t before = runs.size();
      while (s.Step()) runs.push_back(ReadRunKeepingJsonText(s, json.emplace_back()));
      if (runs.size() == before) break;
      taken += static_cast<int>(runs.size() - before);
      if (per_statement > 1) break;  // it took every run it could
    }
    // The steps of the runs that have any (a run resumed, or a retry's reused
    // steps), so the executor need not read the run again. One probe of the
    // step_runs key for a fresh run.
    for (auto& run : runs) {
      Stmt s(c, "SELECT " STEP_COLS " FROM step_runs WHERE run_id = :id ORDER BY seq, path");
      s.Text(":id", run.id);
      while (s.Step()) run.steps.push_back(ReadStep(SqliteRow(s)));
    }
    if (txn) txn->Commit();
    return runs;
  });
  if (!claimed) return claimed;
  for (size_t i = 0; i < claimed->size(); ++i)
    if (auto parsed = ParseRunJson((*claimed)[i], json[i]); !parsed) return Fail(parsed.error());
  std::sort(claimed->begin(), claimed->end(), [](const Run& a, const Run& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return claimed;
}

Result<void> SqliteStore::RenewLeases(const std::string& node,
                                      const std::vector<std::string>& run_ids,
                                      TimePoint lease_until) {
  if (run_ids.empty()) return Ok();
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c,
           "UPDATE runs SET lease_until = :lease_until WHERE claimed_by = :node "
           "AND id IN (SELECT value FROM json_each(:ids))");
    s.Time(":lease_until", lease_until).Text(":node", node).Text(":ids", DumpJson(run_ids)).Run();
    return Ok();
  });
}

Result<Run> SqliteStore::GetRun(const std::string& id, bool with_steps) {
  return impl_->ReadRuns([&](Conn& c) -> Result<Run> {
    std::optional<ReadTxn> txn;
    if (with_steps) txn.emplace(c);  // the run and its steps from one snapshot
    std::optional<Run> run;
    {
      Stmt s(c, "SELECT " RUN_COLS " FROM runs WHERE id = :id");
      s.Text(":id", id);
      run = One(s, ReadRun<SqliteRow>);
    }
    if (!run) return NotFound("run " + id);
    if (with_steps) {
      Stmt s(c, "SELECT " STEP_COLS " FROM step_runs WHERE run_id = :id ORDER BY seq, path");
      s.Text(":id", id);
      while (s.Step()) run->steps.push_back(ReadStep(SqliteRow(s)));
    }
    return std::move(*run);
  });
}

Result<RunPage> SqliteStore::ListRuns(const RunFilter& filter) {
  std::optional<std::pair<int64_t, std::string>> after;
  if (!filter.cursor.empty()) {
    after = store::ParseRunCursor(filter.cursor);
    if (!after) return Fail(ErrorCode::kBadRequest, "invalid cursor \"" + filter.cursor + "\"");
  }
  int limit = filter.limit > 0 ? filter.limit : 50;
  // The SQL names only the filters given, so each combination is its own
  // cached statement and can use its index.
  std::string sql = "SELECT " RUN_COLS " FROM runs WHERE 1 = 1";
  if (!filter.flow_id.empty()) sql += " AND flow_id = :flow_id";
  if (filter.status) {
    sql += " AND status = :status";
    if (IsTerminal(*filter.status))
      sql += " AND " FINISHED_STATUS;  // runs_by_status
    else
      sql += " AND id IN (SELECT id FROM " UNFINISHED_RUNS ")";  // a few rows, then sorted
  }
  if (!filter.trigger_type.empty()) sql += " AND trigger_type = :trigger_type";
  if (filter.since) sql += " AND created_at >= :since";
  if (filter.until) sql += " AND created_at < :until";
  if (after) sql += " AND (created_at, id) < (:after_ms, :after_id)";
  sql += " ORDER BY created_at DESC, id DESC LIMIT :limit";
  return impl_->ReadRuns([&](Conn& c) -> Result<RunPage> {
    Stmt s(c, sql);
    if (!filter.flow_id.empty()) s.Text(":flow_id", filter.flow_id);
    if (filter.status) s.Text(":status", ToString(*filter.status));
    if (!filter.trigger_type.empty()) s.Text(":trigger_type", filter.trigger_type);
    if (filter.since) s.Time(":since", *filter.since);
    if (filter.until) s.Time(":until", *filter.until);
    if (after) s.Int(":after_ms", after->first).Text(":after_id", after->second);
    s.Int(":limit", int64_t{limit} + 1);  // one more tells whether a next page exists
    RunPage page;
    while (s.Step()) page.runs.push_back(ReadRun(SqliteRow(s)));
    if (static_cast<int>(page.runs.size()) > limit) {
      page.runs.pop_back();
      page.next_cursor = store::MakeRunCursor(page.runs.back());
    }
    return page;
  });
}

namespace {

// UpdateRun inside the caller's write. False when the run does not exist.
bool WriteRunState(Conn& c, const Run& run) {
  // cancel_requested is only ever raised here, so a RequestCancel racing
  // the engine's write of an older copy of the run is not lost.
  Stmt s(c,
         "UPDATE runs SET status = :status, scheduled_for = :scheduled_for, "
         "started_at = :started_at, finished_at = :finished_at, output = :output, "
         "error = :error, claimed_by = :claimed_by, lease_until = :lease_until, "
         "not_before = :not_before, "
         "cancel_requested = MAX(cancel_requested, :cancel_requested) WHERE id = :id");
  BindRunState(s, run);
  s.Text(":id", run.id).Run();
  return c.Changes() > 0;
}

}  // namespace

Result<void> SqliteStore::UpdateRun(const Run& run) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    if (!WriteRunState(c, run)) return NotFound("run " + run.id);
    return Ok();
  });
}

Result<void> SqliteStore::SaveRun(const Run* run, const std::vector<StepRun>& steps) {
  if (!run && steps.empty()) return Ok();
  // Unguarded (no savepoint in a group commit): the run's update and the
  // steps' upserts can fail on purpose only when the run is gone, and then
  // the first of them fails, before any change.
  return impl_->WriteUnguarded([&](Conn& c) -> Result<void> {
    std::optional<WriteTxn> txn;
    if (steps.size() + (run ? 1 : 0) > 1) txn.emplace(c, WriteTxn::kNoSavepoint);
    if (run && !WriteRunState(c, *run)) return NotFound("run " + run->id);
    for (const auto& st : steps)
      if (!UpsertStep(c, st)) return NotFound("run " + st.run_id);
    if (txn) txn->Commit();
    return Ok();
  });
}

Result<void> SqliteStore::SaveStepRun(const StepRun& step) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    if (!UpsertStep(c, step)) return NotFound("run " + step.run_id);
    return Ok();
  });
}

Result<bool> SqliteStore::RequestCancel(const std::string& run_id) {
  // A webhook accepted before this is in the database, or this fails.
  if (auto caught_up = impl_->CatchUp(); !caught_up) return Fail(caught_up.error());
  return impl_->Write([&](Conn& c) -> Result<bool> {
    {
      Stmt s(c, std::string(
                    "UPDATE runs SET cancel_requested = 1, not_before = CASE WHEN claimed_by = '' "
                    "THEN NULL ELSE not_before END WHERE id = :id AND ") +
                    kUnfinished);
      s.Text(":id", run_id).Run();
    }
    if (c.Changes() > 0) return true;
    Stmt s(c, "SELECT 1 FROM runs WHERE id = :id");
    if (!s.Text(":id", run_id).Step()) return NotFound("run " + run_id);
    return false;
  });
}

Result<bool> SqliteStore::WakeRun(const std::string& run_id) {
  return impl_->Write([&](Conn& c) -> Result<bool> {
    Stmt s(c, std::string("UPDATE runs SET not_before = NULL WHERE id = :id AND claimed_by = '' "
                          "AND not_before IS NOT NULL AND ") +
                  kUnfinished);
    s.Text(":id", run_id).Run();
    return c.Changes() > 0;
  });
}

Result<int64_t> SqliteStore::CountRuns(std::optional<RunStatus> status) {
  return impl_->ReadRuns([&](Conn& c) -> Result<int64_t> {
    if (!status) {
      Stmt s(c, "SELECT COUNT(*) FROM runs");
      return s.Step() ? s.ColInt(0) : 0;
    }
    Stmt s(c, IsTerminal(*status)
                  ? "SELECT COUNT(*) FROM runs WHERE status = :status AND " FINISHED_STATUS
                  : "SELECT COUNT(*) FROM " UNFINISHED_RUNS " WHERE status = :status");
    s.Text(":status", ToString(*status));
    return s.Step() ? s.ColInt(0) : 0;
  });
}

Result<Store::QueueStats> SqliteStore::GetQueueStats() {
  return impl_->ReadRuns([&](Conn& c) -> Result<QueueStats> {
    Stmt s(c, "SELECT COUNT(*), MIN(created_at) FROM " UNFINISHED_RUNS " WHERE status = 'queued'");
    QueueStats q;
    if (s.Step()) {
      q.queued = s.ColInt(0);
      q.oldest_created_at = s.ColOptTime(1);
    }
    return q;
  });
}

Result<Store::SchemaStatus> SqliteStore::GetSchemaStatus() {
  return impl_->Read([&](Conn& c) -> Result<SchemaStatus> {
    Stmt s(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    SchemaStatus st;
    if (s.Step()) st.applied = static_cast<int>(s.ColInt(0));
    auto migrations = sqlite::Migrations();
    st.known = migrations.empty() ? 0 : migrations.back().version;
    return st;
  });
}

}  // namespace weft
