#include <algorithm>
#include <tuple>

#include "common/ids.h"
#include "store/common/cursor.h"
#include "store/common/file_refs.h"
#include "store/postgres/postgres_migrations.h"
#include "store/postgres/postgres_store_impl.h"

namespace weft {

namespace {

// "a, b" with prefix "r." -> "r.a, r.b".
std::string Prefixed(const std::string& cols, const std::string& prefix) {
  std::string out;
  size_t start = 0;
  while (start < cols.size()) {
    size_t end = cols.find(',', start);
    if (end == std::string::npos) end = cols.size();
    std::string col = cols.substr(start, end - start);
    col.erase(0, col.find_first_not_of(' '));
    if (!out.empty()) out += ", ";
    out += prefix + col;
    start = end + 1;
  }
  return out;
}

}  // namespace

// Inserts or replaces the step run (run_id, path); an existing row keeps its
// seq, and a new row with seq <= 0 goes after the run's last step. False when
// the run does not exist.
bool UpsertStep(Conn& c, const StepRun& st) {
  static const std::string sql =
      "INSERT INTO step_runs (" STEP_COLS
      ") VALUES ($1, $2, $3, $4, "
      "CASE WHEN $5::integer > 0 THEN $5::integer "
      "ELSE (SELECT COALESCE(MAX(seq), 0) + 1 FROM step_runs WHERE run_id = $1) END, "
      "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
      "ON CONFLICT (run_id, path) DO UPDATE SET step_id = excluded.step_id, "
      "uses = excluded.uses, status = excluded.status, attempts = excluded.attempts, "
      "started_at = excluded.started_at, finished_at = excluded.finished_at, "
      "input = excluded.input, output = excluded.output, error = excluded.error, "
      "logs = excluded.logs, wake_at = excluded.wake_at, state = excluded.state";
  Params p;
  p.Text(st.run_id)
      .Text(st.path)
      .Text(st.step_id)
      .Text(st.uses)
      .Int(st.seq)
      .Text(ToString(st.status))
      .Int(st.attempts)
      .Time(st.started_at)
      .Time(st.finished_at)
      .Json(st.input)
      .Json(st.output)
      .Json(st.error)
      .Json(st.logs)
      .Time(st.wake_at)
      .Json(st.state);
  try {
    c.Exec(sql, p);
  } catch (const PgError& e) {
    if (e.sqlstate == kForeignKeyViolation) return false;
    throw;
  }
  if (st.status == StepStatus::kSucceeded)
    InsertFileRefs(c, st.run_id, store::FileIdsIn(st.output));
  return true;
}

void InsertFileRefs(Conn& c, const std::string& run_id, const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  c.Exec(
      "INSERT INTO run_files (file_id, run_id) SELECT unnest($1::text[]), $2 "
      "ON CONFLICT DO NOTHING",
      Params().TextArray(ids).Text(run_id));
}

// ---- runs ----------------------------------------------------------------------------

void InsertRun(Conn& c, const Run& run) {
  static const std::string sql =
      "INSERT INTO runs (" RUN_COLS
      ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
      "$18, $19)";
  c.Exec(sql, Params()
                  .Text(run.id)
                  .Text(run.flow_id)
                  .Text(run.flow_name)
                  .Int(run.flow_version)
                  .Text(run.trigger_type)
                  .Json(run.trigger)
                  .Text(ToString(run.status))
                  .Time(run.scheduled_for)
                  .Time(run.created_at)
                  .Time(run.started_at)
                  .Time(run.finished_at)
                  .Json(run.input)
                  .Json(run.output)
                  .Json(run.error)
                  .Text(run.retry_of)
                  .Text(run.claimed_by)
                  .Time(run.lease_until)
                  .Time(run.not_before)
                  .Bool(run.cancel_requested));
  InsertFileRefs(c, run.id, store::FileIdsIn(run.trigger));
}

namespace {

std::optional<Run> FindRun(Conn& c, const std::string& id) {
  return First(c.Exec("SELECT " RUN_COLS " FROM runs WHERE id = $1", Params().Text(id)),
               ReadRun<PgRow>);
}

}  // namespace

Result<Run> PostgresStore::CreateRun(const Run& in) {
  Run run = in;
  StampNew(run.id, run.created_at, impl_->Now());
  for (auto& st : run.steps) st.run_id = run.id;
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Run> {
    try {
      if (run.steps.empty() && store::FileIdsIn(run.trigger).empty()) {
        InsertRun(c, run);  // one statement commits on its own
      } else {
        // Steps given with the run (a retry's reused steps) go in the same transaction.
        Txn txn(c);
        InsertRun(c, run);
        for (const auto& st : run.steps) UpsertStep(c, st);
        txn.Commit();
      }
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) {
        // The first attempt committed before the connection broke.
        auto stored = FindRun(c, run.id);
        if (stored && stored->flow_id == run.flow_id && stored->created_at == run.created_at) {
          return run;
        }
      }
      return Fail(ErrorCode::kConflict, "run " + run.id + " already exists");
    }
    return run;
  });
}

Result<std::vector<Run>> PostgresStore::ClaimRuns(const std::string& node, int max, TimePoint now,
                                                  TimePoint lease_until) {
  if (max <= 0) return std::vector<Run>{};
    // One statement. The candidates come from the two queue indexes (ready
    // now, oldest first; and due: lease expired or not_before passed), a few
    // more than asked for; they are locked as they are chosen, rows another
    // node is claiming this instant are skipped rather than waited for, and
    // the conditions are checked again on the locked row, so concurrent
    // claimers never get the same run and never queue up behind each other.
    // Queued runs of flows with a max_concurrency are left to ClaimLimited.
#define NOT_LIMITED \
  " AND (status = 'running' OR flow_id NOT IN (SELECT id FROM flows WHERE max_concurrency > 0))"
  static const std::string sql =
      "WITH cand AS ("
      "(SELECT id FROM runs WHERE " UNFINISHED " AND available_at = 0" NOT_LIMITED
      " ORDER BY created_at, id LIMIT $5) UNION ALL "
      "(SELECT id FROM runs WHERE " UNFINISHED
      " AND available_at > 0 AND available_at <= $3" NOT_LIMITED
      " ORDER BY created_at, id LIMIT $5)), "
      "c AS (SELECT id FROM runs WHERE id IN (SELECT id FROM cand) AND " UNFINISHED
      " AND available_at <= $3" NOT_LIMITED
      " ORDER BY created_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) "
      "UPDATE runs r SET claimed_by = $1, lease_until = $2 FROM c WHERE r.id = c.id RETURNING " +
      Prefixed(RUN_COLS, "r.");
#undef NOT_LIMITED
  // Candidates: enough that claimers running at once (each locking up to
  // `max`) still leave this one `max` free runs.
  int64_t candidates = int64_t{max} * 4 + 16;
  // Not retried once the statement may have run: the runs it claimed come
  // back when their lease expires, while a second claim could hand them out
  // to another worker of this node.
  auto claimed = impl_->Do(Retry::kIfNotCommitted, [&](Conn& c, bool) -> Result<std::vector<Run>> {
    Rows rows =
        c.Exec(sql, Params().Text(node).Time(lease_until).Time(now).Int(max).Int(candidates));
    std::vector<Run> runs;
    for (int i = 0; i < rows.size(); ++i) runs.push_back(ReadRun(PgRow(rows, i)));
    return runs;
  });
  if (!claimed) return claimed;
  if (static_cast<int>(claimed->size()) < max) {
    auto limited = ClaimLimited(node, max - static_cast<int>(claimed->size()), now, lease_until);
    if (!limited) {
      if (claimed->empty()) return limited;
      // The runs already claimed stay claimed; the limited ones wait for the next call.
    } else {
      for (auto& r : *limited) claimed->push_back(std::move(r));
    }
  }
  std::sort(claimed->begin(), claimed->end(), [](const Run& a, const Run& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  if (claimed->empty()) return claimed;
  // The steps of the runs that have any (a run resumed, or a retry's reused
  // steps), so the executor need not read the runs again. The claim is
  // committed: a failed read leaves the runs to their leases' end.
  std::vector<std::string> ids;
  for (const auto& r : *claimed) ids.push_back(r.id);
  auto steps = impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    Rows rows = c.Exec("SELECT " STEP_COLS
                       " FROM step_runs WHERE run_id = ANY($1::text[]) ORDER BY run_id, seq, path",
                       Params().TextArray(ids));
    for (auto& r : *claimed) r.steps.clear();  // a retried read starts over
    for (int i = 0; i < rows.size(); ++i) {
      StepRun st = ReadStep(PgRow(rows, i));
      for (auto& r : *claimed)
        if (r.id == st.run_id) {
          r.steps.push_back(std::move(st));
          break;
        }
    }
    return Ok();
  });
  if (!steps) return Fail(steps.error());
  return claimed;
}

// Queued runs of flows with settings.max_concurrency, in one transaction:
// each such flow's row is locked (FOR UPDATE, in id order, so claimers on
// several nodes never deadlock) before its running and claimed runs are
// counted, so two nodes cannot both take the flow's last free place.
Result<std::vector<Run>> PostgresStore::ClaimLimited(const std::string& node, int max,
                                                     TimePoint now, TimePoint lease_until) {
  static const std::string claim_sql =
      "UPDATE runs r SET claimed_by = $1, lease_until = $2 FROM (SELECT id FROM runs WHERE flow_id "
      "= $3 "
      "AND status = 'queued' AND available_at <= $4 ORDER BY created_at, id LIMIT $5 FOR UPDATE "
      "SKIP LOCKED) c "
      "WHERE r.id = c.id RETURNING " +
      Prefixed(RUN_COLS, "r.");
  return impl_->Do(Retry::kIfNotCommitted, [&](Conn& c, bool) -> Result<std::vector<Run>> {
    std::vector<Run> runs;
    Rows flows = c.Exec(
        "SELECT DISTINCT flow_id FROM (SELECT flow_id FROM runs WHERE status = 'queued' AND "
        "available_at <= $1 "
        "AND flow_id IN (SELECT id FROM flows WHERE max_concurrency > 0) ORDER BY created_at, id "
        "LIMIT 64) q "
        "ORDER BY flow_id",
        Params().Time(now));
    if (flows.empty()) return runs;
    Txn txn(c);
    for (int i = 0; i < flows.size() && static_cast<int>(runs.size()) < max; ++i) {
      std::string flow_id = flows.Text(i, 0);
      Rows limit = c.Exec("SELECT max_concurrency FROM flows WHERE id = $1 FOR UPDATE",
                          Params().Text(flow_id));
      if (limit.empty()) continue;
      int64_t max_concurrency = limit.Int(0, 0);
      if (max_concurrency <= 0) continue;
      Rows active = c.Exec(
          "SELECT count(*) FROM runs WHERE flow_id = $1 AND (status = 'running' OR (status = "
          "'queued' "
          "AND claimed_by <> '')) AND (status = 'running' OR COALESCE(lease_until, 0) > $2)",
          Params().Text(flow_id).Time(now));
      int64_t free = max_concurrency - active.Int(0, 0);
      if (free <= 0) continue;
      free = std::min<int64_t>(free, max - static_cast<int>(runs.size()));
      Rows rows = c.Exec(claim_sql,
                         Params().Text(node).Time(lease_until).Text(flow_id).Time(now).Int(free));
      for (int j = 0; j < rows.size(); ++j) runs.push_back(ReadRun(PgRow(rows, j)));
    }
    txn.Commit();
    return runs;
  });
}

Result<void> PostgresStore::RenewLeases(const std::string& node,
                                        const std::vector<std::string>& run_ids,
                                        TimePoint lease_until) {
  if (run_ids.empty()) return Ok();
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    c.Exec("UPDATE runs SET lease_until = $1 WHERE claimed_by = $2 AND id = ANY($3::text[])",
           Params().Time(lease_until).Text(node).TextArray(run_ids));
    return Ok();
  });
}

Result<Run> PostgresStore::GetRun(const std::string& id, bool with_steps) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Run> {
    std::optional<Txn> txn;
    // The run and its steps from one snapshot.
    if (with_steps) txn.emplace(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    auto run = FindRun(c, id);
    if (!run) return NotFound("run " + id);
    if (with_steps) {
      Rows rows = c.Exec("SELECT " STEP_COLS " FROM step_runs WHERE run_id = $1 ORDER BY seq, path",
                         Params().Text(id));
      for (int i = 0; i < rows.size(); ++i) run->steps.push_back(ReadStep(PgRow(rows, i)));
      txn->Commit();
    }
    return std::move(*run);
  });
}

Result<RunPage> PostgresStore::ListRuns(const RunFilter& filter) {
  std::optional<std::pair<int64_t, std::string>> after;
  if (!filter.cursor.empty()) {
    after = store::ParseRunCursor(filter.cursor);
    if (!after) return Fail(ErrorCode::kBadRequest, "invalid cursor \"" + filter.cursor + "\"");
  }
  int limit = filter.limit > 0 ? filter.limit : 50;
  // The SQL names only the filters given, so each combination is its own
  // prepared statement with a plan for its index.
  std::string sql = "SELECT " RUN_COLS " FROM runs WHERE true";
  Params p;
  auto arg = [&] { return "$" + std::to_string(p.size()); };
  if (!filter.flow_id.empty()) {
    p.Text(filter.flow_id);
    sql += " AND flow_id = " + arg();
  }
  if (filter.status) {
    p.Text(ToString(*filter.status));
    sql += " AND status = " + arg();
  }
  if (!filter.trigger_type.empty()) {
    p.Text(filter.trigger_type);
    sql += " AND trigger_type = " + arg();
  }
  if (filter.since) {
    p.Time(filter.since);
    sql += " AND created_at >= " + arg();
  }
  if (filter.until) {
    p.Time(filter.until);
    sql += " AND created_at < " + arg();
  }
  if (after) {
    p.Int(after->first);
    std::string ms = arg();
    p.Text(after->second);
    sql += " AND (created_at, id) < (" + ms + ", " + arg() + ")";
  }
  p.Int(int64_t{limit} + 1);  // one more tells whether a next page exists
  sql += " ORDER BY created_at DESC, id DESC LIMIT " + arg();
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<RunPage> {
    Rows rows = c.Exec(sql, p);
    RunPage page;
    for (int i = 0; i < rows.size(); ++i) page.runs.push_back(ReadRun(PgRow(rows, i)));
    if (static_cast<int>(page.runs.size()) > limit) {
      page.runs.pop_back();
      page.next_cursor = store::MakeRunCursor(page.runs.back());
    }
    return page;
  });
}

Result<void> PostgresStore::UpdateRun(const Run& run) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    metrics::ScopedTimer timer(metrics::Weft().store_write);  // one statement, its own transaction
    // cancel_requested is only ever raised here, so a RequestCancel racing
    // the engine's write of an older copy of the run is not lost.
    Rows rows = c.Exec(
        "UPDATE runs SET status = $2, scheduled_for = $3, started_at = $4, finished_at = $5, "
        "output = $6, error = $7, claimed_by = $8, lease_until = $9, not_before = $10, "
        "cancel_requested = cancel_requested OR $11 WHERE id = $1",
        Params()
            .Text(run.id)
            .Text(ToString(run.status))
            .Time(run.scheduled_for)
            .Time(run.started_at)
            .Time(run.finished_at)
            .Json(run.output)
            .Json(run.error)
            .Text(run.claimed_by)
            .Time(run.lease_until)
            .Time(run.not_before)
            .Bool(run.cancel_requested));
    if (rows.affected() == 0) return NotFound("run " + run.id);
    return Ok();
  });
}

Result<void> PostgresStore::SaveStepRun(const StepRun& step) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    metrics::ScopedTimer timer(metrics::Weft().store_write);  // one statement, its own transaction
    if (!UpsertStep(c, step)) return NotFound("run " + step.run_id);
    return Ok();
  });
}

Result<void> PostgresStore::SaveRun(const Run* run, const std::vector<StepRun>& steps) {
  if (!run && steps.empty()) return Ok();
  if (!run && steps.size() == 1) return SaveStepRun(steps.front());
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    Txn txn(c);
    if (run) {
      Rows rows = c.Exec(
          "UPDATE runs SET status = $2, scheduled_for = $3, started_at = $4, finished_at = $5, "
          "output = $6, error = $7, claimed_by = $8, lease_until = $9, not_before = $10, "
          "cancel_requested = cancel_requested OR $11 WHERE id = $1",
          Params()
              .Text(run->id)
              .Text(ToString(run->status))
              .Time(run->scheduled_for)
              .Time(run->started_at)
              .Time(run->finished_at)
              .Json(run->output)
              .Json(run->error)
              .Text(run->claimed_by)
              .Time(run->lease_until)
              .Time(run->not_before)
              .Bool(run->cancel_requested));
      if (rows.affected() == 0) return NotFound("run " + run->id);
    }
    for (const auto& st : steps)
      if (!UpsertStep(c, st)) return NotFound("run " + st.run_id);
    txn.Commit();
    return Ok();
  });
}

Result<bool> PostgresStore::RequestCancel(const std::string& run_id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<bool> {
    // true when the run was unfinished (and is now marked), false when it had
    // finished, no row when there is no such run.
    Rows rows = c.Exec(
        "WITH u AS (UPDATE runs SET cancel_requested = true, not_before = CASE WHEN claimed_by = "
        "'' "
        "THEN NULL ELSE not_before END WHERE id = $1 AND " UNFINISHED
        " RETURNING id) SELECT EXISTS (SELECT 1 FROM u) FROM runs WHERE id = $1",
        Params().Text(run_id));
    if (rows.empty()) return NotFound("run " + run_id);
    return rows.Bool(0, 0);
  });
}

Result<bool> PostgresStore::WakeRun(const std::string& run_id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<bool> {
    Rows rows = c.Exec(
        "UPDATE runs SET not_before = NULL WHERE id = $1 AND claimed_by = '' AND not_before IS NOT "
        "NULL AND " UNFINISHED,
        Params().Text(run_id));
    return rows.affected() > 0;
  });
}

Result<int64_t> PostgresStore::CountRuns(std::optional<RunStatus> status) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<int64_t> {
    if (!status) return c.Exec("SELECT COUNT(*) FROM runs").Int(0, 0);
    return c.Exec("SELECT COUNT(*) FROM runs WHERE status = $1", Params().Text(ToString(*status)))
        .Int(0, 0);
  });
}

Result<Store::QueueStats> PostgresStore::GetQueueStats() {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<QueueStats> {
    // runs_by_status (status, created_at, id): a range scan of the queued rows.
    auto r = c.Exec("SELECT COUNT(*), MIN(created_at) FROM runs WHERE status = 'queued'");
    QueueStats q;
    q.queued = r.Int(0, 0);
    q.oldest_created_at = r.OptTime(0, 1);
    return q;
  });
}

Result<Store::SchemaStatus> PostgresStore::GetSchemaStatus() {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<SchemaStatus> {
    SchemaStatus st;
    st.applied = static_cast<int>(
        c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Int(0, 0));
    auto migrations = postgres::Migrations();
    st.known = migrations.empty() ? 0 : migrations.back().version;
    return st;
  });
}

}  // namespace weft

namespace weft {

// ---- files ------------------------------------------------------------------------

Result<std::vector<std::string>> PostgresStore::UnreferencedFiles(
    const std::vector<std::string>& ids) {
  if (ids.empty()) return std::vector<std::string>{};
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<std::string>> {
    auto rows = c.Exec(
        "SELECT id FROM unnest($1::text[]) AS id "
        "WHERE NOT EXISTS (SELECT 1 FROM run_files f WHERE f.file_id = id)",
        Params().TextArray(ids));
    std::vector<std::string> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(rows.Text(i, 0));
    return out;
  });
}

Result<std::vector<std::string>> PostgresStore::FilesOfRun(const std::string& run_id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<std::string>> {
    auto rows = c.Exec("SELECT file_id FROM run_files WHERE run_id = $1 ORDER BY file_id",
                       Params().Text(run_id));
    std::vector<std::string> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(rows.Text(i, 0));
    return out;
  });
}

}  // namespace weft
