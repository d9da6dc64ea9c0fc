#include "store/postgres/postgres_store.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "common/ids.h"
#include "common/metrics.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/postgres_migrations.h"

namespace weft {

using pg::Conn;
using pg::Params;
using pg::PgError;
using pg::Pool;
using pg::Rows;

namespace {

// Column lists, in the order the Read* functions below expect them.
#define FLOW_COLS                                                                           \
  "id, name, description, version, document, active, trigger_type, webhook_token, created_at, " \
  "updated_at, updated_by, next_run_at, missed_fires"
#define VERSION_COLS "flow_id, version, document, created_at, created_by"
#define CONNECTION_COLS \
  "id, name, connector, settings, auth, active, created_at, updated_at, updated_by"
#define RUN_COLS                                                                              \
  "id, flow_id, flow_name, flow_version, trigger_type, trigger, status, scheduled_for, "      \
  "created_at, started_at, finished_at, input, output, error, retry_of, claimed_by, "         \
  "lease_until, not_before, cancel_requested"
#define STEP_COLS                                                                          \
  "run_id, path, step_id, uses, seq, status, attempts, started_at, finished_at, input, "  \
  "output, error, logs, wake_at, state"
#define DELIVERY_COLS                                                                    \
  "id, flow_id, received_at, method, path, status_code, run_id, headers, query, body, " \
  "content_type, auth_passed"

#define UNFINISHED "status IN ('queued', 'running')"

constexpr const char* kUniqueViolation = "23505";
constexpr const char* kForeignKeyViolation = "23503";

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

Unexpected NotFound(const std::string& what) {
  return Fail(ErrorCode::kNotFound, what + " not found");
}

Unexpected NameTaken(const std::string& what, const std::string& name) {
  return Fail(ErrorCode::kConflict, "a " + what + " named \"" + name + "\" already exists");
}

Unexpected TokenTaken() {
  return Fail(ErrorCode::kConflict, "the webhook token is already used by another flow");
}

bool IsUnique(const PgError& e, const char* constraint) {
  return e.sqlstate == kUniqueViolation && e.constraint == constraint;
}

ErrorCode CodeFor(const PgError& e) {
  if (e.connection_broken) return ErrorCode::kUnavailable;
  const std::string& s = e.sqlstate;
  if (s == kUniqueViolation) return ErrorCode::kConflict;
  // Serialization failure, deadlock, too many connections, out of disk,
  // statement timeout: the database is there but cannot serve this now.
  if (s == "40001" || s == "40P01" || s == "53300" || s == "53100" || s == "57014") {
    return ErrorCode::kUnavailable;
  }
  return ErrorCode::kInternal;
}

// Runs `f`, turning any exception into an Error: none leaves the store.
template <typename F>
auto Guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const PgError& e) {
    return Fail(CodeFor(e), e.what());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("store: ") + e.what());
  } catch (...) {
    return Fail(ErrorCode::kInternal, "store: unknown error");
  }
}

// A transaction on one connection, rolled back unless committed.
class Txn {
 public:
  explicit Txn(Conn& c, const char* begin = "BEGIN") : c_(c) {
    // Write transactions are timed (weft_store_write_seconds), BEGIN to COMMIT.
    if (metrics::Enabled() && !std::string_view(begin).ends_with("READ ONLY")) started_ = std::chrono::steady_clock::now();
    c_.ExecScript(begin);
  }
  ~Txn() {
    if (done_) return;
    try {
      c_.ExecScript("ROLLBACK");
    } catch (const PgError&) {
      // A broken connection: the pool drops it.
    }
  }
  void Commit() {
    c_.ExecScript("COMMIT");
    done_ = true;
    if (started_) metrics::Weft().store_write.ObserveDuration(std::chrono::steady_clock::now() - *started_);
  }

 private:
  Conn& c_;
  bool done_ = false;
  std::optional<std::chrono::steady_clock::time_point> started_;
};

Flow ReadFlow(const Rows& r, int i) {
  Flow f;
  f.id = r.Text(i, 0);
  f.name = r.Text(i, 1);
  f.description = r.Text(i, 2);
  f.version = static_cast<int>(r.Int(i, 3));
  f.document = r.Json(i, 4);
  f.active = r.Bool(i, 5);
  f.trigger_type = r.Text(i, 6);
  f.webhook_token = r.Text(i, 7);
  f.created_at = r.Time(i, 8);
  f.updated_at = r.Time(i, 9);
  f.updated_by = r.Text(i, 10);
  f.next_run_at = r.OptTime(i, 11);
  f.missed_fires = r.Int(i, 12);
  return f;
}

FlowVersion ReadVersion(const Rows& r, int i) {
  FlowVersion v;
  v.flow_id = r.Text(i, 0);
  v.version = static_cast<int>(r.Int(i, 1));
  v.document = r.Json(i, 2);
  v.created_at = r.Time(i, 3);
  v.created_by = r.Text(i, 4);
  return v;
}

Connection ReadConnection(const Rows& r, int i) {
  Connection c;
  c.id = r.Text(i, 0);
  c.name = r.Text(i, 1);
  c.connector = r.Text(i, 2);
  c.settings = r.Json(i, 3);
  c.auth = r.Json(i, 4);
  c.active = r.Bool(i, 5);
  c.created_at = r.Time(i, 6);
  c.updated_at = r.Time(i, 7);
  c.updated_by = r.Text(i, 8);
  return c;
}

RunStatus ReadRunStatus(const Rows& r, int i, int col) {
  auto st = ParseRunStatus(r.Text(i, col));
  if (!st) throw PgError("XX001", "stored run status \"" + r.Text(i, col) + "\" unknown", false);
  return *st;
}

Run ReadRun(const Rows& r, int i) {
  Run run;
  run.id = r.Text(i, 0);
  run.flow_id = r.Text(i, 1);
  run.flow_name = r.Text(i, 2);
  run.flow_version = static_cast<int>(r.Int(i, 3));
  run.trigger_type = r.Text(i, 4);
  run.trigger = r.Json(i, 5);
  run.status = ReadRunStatus(r, i, 6);
  run.scheduled_for = r.OptTime(i, 7);
  run.created_at = r.Time(i, 8);
  run.started_at = r.OptTime(i, 9);
  run.finished_at = r.OptTime(i, 10);
  run.input = r.Json(i, 11);
  run.output = r.Json(i, 12);
  run.error = r.Json(i, 13);
  run.retry_of = r.Text(i, 14);
  run.claimed_by = r.Text(i, 15);
  run.lease_until = r.OptTime(i, 16);
  run.not_before = r.OptTime(i, 17);
  run.cancel_requested = r.Bool(i, 18);
  return run;
}

StepRun ReadStep(const Rows& r, int i) {
  StepRun st;
  st.run_id = r.Text(i, 0);
  st.path = r.Text(i, 1);
  st.step_id = r.Text(i, 2);
  st.uses = r.Text(i, 3);
  st.seq = static_cast<int>(r.Int(i, 4));
  auto status = ParseStepStatus(r.Text(i, 5));
  if (!status) throw PgError("XX001", "stored step status \"" + r.Text(i, 5) + "\" unknown", false);
  st.status = *status;
  st.attempts = static_cast<int>(r.Int(i, 6));
  st.started_at = r.OptTime(i, 7);
  st.finished_at = r.OptTime(i, 8);
  st.input = r.Json(i, 9);
  st.output = r.Json(i, 10);
  st.error = r.Json(i, 11);
  st.logs = r.IsNull(i, 12) ? Json::array() : r.Json(i, 12);
  st.wake_at = r.OptTime(i, 13);
  st.state = r.Json(i, 14);
  return st;
}

Delivery ReadDelivery(const Rows& r, int i) {
  Delivery d;
  d.id = r.Text(i, 0);
  d.flow_id = r.Text(i, 1);
  d.received_at = r.Time(i, 2);
  d.method = r.Text(i, 3);
  d.path = r.Text(i, 4);
  d.status_code = static_cast<int>(r.Int(i, 5));
  d.run_id = r.Text(i, 6);
  d.headers = r.Json(i, 7);
  d.query = r.Json(i, 8);
  d.body = r.Bytes(i, 9);
  d.content_type = r.Text(i, 10);
  d.auth_passed = r.Bool(i, 11);
  return d;
}

template <typename T>
std::optional<T> First(const Rows& rows, T (*read)(const Rows&, int)) {
  if (rows.empty()) return std::nullopt;
  return read(rows, 0);
}

std::optional<Flow> FindFlow(Conn& c, const char* column, const std::string& value,
                             bool for_update = false) {
  std::string sql = std::string("SELECT " FLOW_COLS " FROM flows WHERE ") + column + " = $1";
  if (for_update) sql += " FOR UPDATE";
  return First(c.Exec(sql, Params().Text(value)), ReadFlow);
}

std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

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
  return true;
}

// What may be retried once after the connection broke under an operation.
enum class Retry {
  kAlways,           // reads, idempotent writes, and writes that recognise their own first attempt
  kIfNotCommitted,   // only when nothing could have committed (ClaimRuns)
};

}  // namespace

// ---- the store's state --------------------------------------------------------

struct PostgresStore::Impl {
  explicit Impl(const PostgresOptions& o)
      : options(o),
        clock(o.clock ? o.clock : &system_clock),
        pool(o.url, o.schema, o.pool_size, o.connect_timeout, o.acquire_timeout) {}

  TimePoint Now() const { return clock->Now(); }

  // Runs f(conn, is_retry) on a pooled connection, once more on a fresh
  // connection when the first one broke (or the server aborted the
  // transaction as a deadlock or serialization failure) and a retry is safe.
  template <typename F>
  auto Do(Retry retry, F&& f) -> decltype(f(std::declval<Conn&>(), false)) {
    using R = decltype(f(std::declval<Conn&>(), false));
    return Guard([&]() -> R {
      for (int attempt = 0;; ++attempt) {
        std::optional<Pool::Lease> lease;
        try {
          lease.emplace(pool.Acquire());
          return f(**lease, attempt > 0);
        } catch (const PgError& e) {
          if (!lease || attempt > 0) throw;
          bool aborted = e.sqlstate == "40001" || e.sqlstate == "40P01";
          if (e.connection_broken) {
            // The server is likely gone for every connection opened before
            // (a restart, a failover, terminated sessions whose end has not
            // reached us yet): drop the idle ones, so the retry gets a new one.
            lease->Discard();
            pool.Clear();
          }
          bool safe = aborted || retry == Retry::kAlways || !(*lease)->MaybeCommitted();
          if (!(e.connection_broken || aborted) || !safe) throw;
        }
      }
    });
  }

  PostgresOptions options;
  SystemClock system_clock;
  const Clock* clock;
  Pool pool;
  int schema_version = 0;
};

namespace {

// The advisory lock taken while migrating: (kMigrateLockKey, a hash of the
// schema name), so installations in different schemas do not wait for each
// other. Computed here rather than with hashtext(), which PostgreSQL does not
// promise to keep stable.
constexpr int32_t kMigrateLockKey = 0x77656674;  // "weft"

using pg::SchemaKey;

// Applies the migrations newer than the schema's, holding an advisory lock
// for the whole time so that nodes starting together migrate once. The lock
// is a session lock on a connection of its own, released when it closes.
Result<int> Migrate(const PostgresOptions& o) {
  auto conn = Conn::Open(o.url, o.schema, o.connect_timeout);
  Conn& c = *conn;
  Params lock_key;
  lock_key.Int(kMigrateLockKey).Int(SchemaKey(o.schema));
  c.Exec("SELECT pg_advisory_lock($1::integer, $2::integer)", lock_key);
  c.ExecScript("CREATE SCHEMA IF NOT EXISTS " + pg::QuoteIdent(o.schema));
  c.ExecScript(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
      "name text NOT NULL, applied_at bigint NOT NULL)");
  int current = static_cast<int>(
      c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Int(0, 0));
  auto migrations = postgres::Migrations();
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return Fail(ErrorCode::kUnavailable, "the database schema \"" + o.schema + "\" has version " +
                                             std::to_string(current) +
                                             ", newer than this weft knows (" +
                                             std::to_string(latest) + "); run a newer weft");
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    Txn txn(c);
    c.ExecScript(m.sql);
    c.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
           Params().Int(m.version).Text(m.name).Time(SystemClock().Now()));
    txn.Commit();
    current = m.version;
  }
  c.Exec("SELECT pg_advisory_unlock($1::integer, $2::integer)", lock_key);
  return current;
}

}  // namespace

// ---- opening and closing --------------------------------------------------------

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const PostgresOptions& options) {
  if (options.url.empty()) {
    return Fail(ErrorCode::kBadRequest, "no PostgreSQL URL given (postgres://user@host/db)");
  }
  if (options.schema.empty()) return Fail(ErrorCode::kBadRequest, "empty PostgreSQL schema name");
  return Guard([&]() -> Result<std::unique_ptr<PostgresStore>> {
    auto version = Migrate(options);
    if (!version) return Fail(std::move(version).error());
    auto impl = std::make_unique<Impl>(options);
    impl->schema_version = *version;
    // One connection now, so a bad URL or password fails here, not later.
    { auto lease = impl->pool.Acquire(); }
    return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
  });
}

int PostgresStore::schema_version() const { return impl_->schema_version; }
int PostgresStore::open_connections() const { return impl_->pool.open_connections(); }

Result<void> PostgresStore::Notify(const std::string& channel, const std::string& payload) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    c.Exec("SELECT pg_notify($1, $2)", Params().Text(channel).Text(payload));
    return Ok();
  });
}

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
    for (int i = 0; i < rows.size(); ++i) flows.push_back(ReadFlow(rows, i));
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
    Rows rows = c.Exec("SELECT " FLOW_COLS " FROM flows WHERE id = $1 FOR UPDATE",
                       Params().Text(id));
    if (rows.empty()) return NotFound("flow " + id);
    Flow f = ReadFlow(rows, 0);
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
    p.Text(f.id).Text(f.name).Text(f.description).Int(f.version).Text(document).Text(
        f.trigger_type);
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
                   ReadFlow);
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
      auto f = First(
          c.Exec("UPDATE flows SET webhook_token = $2 WHERE id = $1 RETURNING " FLOW_COLS, p),
          ReadFlow);
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
    auto v = First(c.Exec("SELECT " VERSION_COLS
                          " FROM flow_versions WHERE flow_id = $1 AND version = $2",
                          Params().Text(id).Int(version)),
                   ReadVersion);
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
    for (int i = 0; i < rows.size(); ++i) versions.push_back(ReadVersion(rows, i));
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

// Defined with the runs below.
namespace {
void InsertRun(Conn& c, const Run& run);
bool UpsertStep(Conn& c, const StepRun& st);
}  // namespace

Result<bool> PostgresStore::RecordScheduleFire(const std::string& flow_id, TimePoint scheduled_for,
                                               const Run* in, std::optional<TimePoint> next_run_at,
                                               int64_t missed) {
  std::optional<Run> run;
  if (in) {
    run = *in;
    if (run->created_at == TimePoint{}) run->created_at = impl_->Now();
    if (run->id.empty()) run->id = NewId(ToUnixMs(run->created_at));
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
    return j.is_null() ? Null() : Add(std::string_view(j.dump(-1, ' ', false, Json::error_handler_t::replace)));
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

Result<std::vector<bool>> PostgresStore::RecordScheduleFires(const std::vector<ScheduleFire>& fires) {
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
    if (copy.created_at == TimePoint{}) copy.created_at = impl_->Now();
    if (copy.id.empty()) copy.id = NewId(ToUnixMs(copy.created_at));
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
    Rows locked = c.Exec("SELECT id FROM flows WHERE id = ANY($1::text[]) AND active ORDER BY id FOR UPDATE",
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
        "fresh AS (SELECT i.flow_id, i.at FROM input i WHERE NOT EXISTS (SELECT 1 FROM schedule_fires s "
        "WHERE s.flow_id = i.flow_id AND s.scheduled_for >= i.at)), "
        "old AS (DELETE FROM schedule_fires s USING fresh WHERE s.flow_id = fresh.flow_id) "
        "INSERT INTO schedule_fires (flow_id, scheduled_for) SELECT flow_id, at FROM fresh RETURNING flow_id",
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
        c.Exec("INSERT INTO runs (" RUN_COLS
               ") SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], "
               "$7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], "
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
    c.Exec("UPDATE flows f SET next_run_at = i.next, missed_fires = f.missed_fires + i.missed "
           "FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS i(id, next, missed) WHERE f.id = i.id",
           Params().Text(flow_ids.Literal()).Text(nexts.Literal()).Text(missed.Literal()));
    txn.Commit();
    return out;
  });
}

Result<void> PostgresStore::ForEachActiveSchedule(const std::function<void(Flow&& flow)>& fn) {
  std::vector<Flow> flows;
  auto read = impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    Rows rows = c.Exec("SELECT " FLOW_COLS " FROM flows WHERE active AND trigger_type = 'schedule'");
    flows.clear();
    flows.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) flows.push_back(ReadFlow(rows, i));
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
    c.Exec("UPDATE flows f SET next_run_at = i.next FROM unnest($1::text[], $2::bigint[]) AS i(id, next) "
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
      r.status = ReadRunStatus(rows, i, 2);
      r.finished_at = rows.OptTime(i, 3);
      out.emplace_back(rows.Text(i, 0), std::move(r));
    }
    return out;
  });
}

// ---- connections ----------------------------------------------------------------

namespace {

std::optional<Connection> FindConnection(Conn& c, const char* column, const std::string& v) {
  return First(c.Exec(std::string("SELECT " CONNECTION_COLS " FROM connections WHERE ") +
                          column + " = $1",
                      Params().Text(v)),
               ReadConnection);
}

}  // namespace

Result<Connection> PostgresStore::CreateConnection(const Connection& in) {
  Connection conn = in;
  TimePoint now = impl_->Now();
  if (conn.created_at == TimePoint{}) conn.created_at = now;
  if (conn.updated_at == TimePoint{}) conn.updated_at = conn.created_at;
  if (conn.id.empty()) conn.id = NewId(ToUnixMs(conn.created_at));
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Connection> {
    try {
      c.Exec("INSERT INTO connections (" CONNECTION_COLS
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
             Params()
                 .Text(conn.id)
                 .Text(conn.name)
                 .Text(conn.connector)
                 .JsonAlways(conn.settings)
                 .JsonAlways(conn.auth)
                 .Bool(conn.active)
                 .Time(conn.created_at)
                 .Time(conn.updated_at)
                 .Text(conn.updated_by));
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) {
        auto stored = FindConnection(c, "id", conn.id);
        if (stored && stored->name == conn.name && stored->created_at == conn.created_at) {
          return conn;
        }
      }
      if (IsUnique(e, "connections_name_key")) return NameTaken("connection", conn.name);
      return Fail(ErrorCode::kConflict, "connection " + conn.id + " already exists");
    }
    return conn;
  });
}

Result<Connection> PostgresStore::GetConnection(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Connection> {
    auto conn = FindConnection(c, "id", id);
    if (!conn) return NotFound("connection " + id);
    return std::move(*conn);
  });
}

Result<Connection> PostgresStore::GetConnectionByName(const std::string& name) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Connection> {
    auto conn = FindConnection(c, "name", name);
    if (!conn) return NotFound("connection named \"" + name + "\"");
    return std::move(*conn);
  });
}

Result<std::vector<Connection>> PostgresStore::ListConnections() {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<Connection>> {
    Rows rows = c.Exec("SELECT " CONNECTION_COLS " FROM connections ORDER BY name, id");
    std::vector<Connection> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadConnection(rows, i));
    return out;
  });
}

Result<Connection> PostgresStore::UpdateConnection(const Connection& in) {
  TimePoint now = impl_->Now();
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Connection> {
    try {
      auto stored = First(
          c.Exec("UPDATE connections SET name = $2, connector = $3, settings = $4, auth = $5, "
                 "active = $6, updated_at = $7, updated_by = $8 WHERE id = $1 "
                 "RETURNING " CONNECTION_COLS,
                 Params()
                     .Text(in.id)
                     .Text(in.name)
                     .Text(in.connector)
                     .JsonAlways(in.settings)
                     .JsonAlways(in.auth)
                     .Bool(in.active)
                     .Time(now)
                     .Text(in.updated_by)),
          ReadConnection);
      if (!stored) return NotFound("connection " + in.id);
      return std::move(*stored);
    } catch (const PgError& e) {
      if (IsUnique(e, "connections_name_key")) return NameTaken("connection", in.name);
      throw;
    }
  });
}

Result<void> PostgresStore::DeleteConnection(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<void> {
    if (c.Exec("DELETE FROM connections WHERE id = $1", Params().Text(id)).affected() == 0) {
      if (retry) return Ok();  // the first attempt deleted it
      return NotFound("connection " + id);
    }
    return Ok();
  });
}

// ---- runs ----------------------------------------------------------------------------

namespace {

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
}

std::optional<Run> FindRun(Conn& c, const std::string& id) {
  return First(c.Exec("SELECT " RUN_COLS " FROM runs WHERE id = $1", Params().Text(id)), ReadRun);
}

}  // namespace

Result<Run> PostgresStore::CreateRun(const Run& in) {
  Run run = in;
  if (run.created_at == TimePoint{}) run.created_at = impl_->Now();
  if (run.id.empty()) run.id = NewId(ToUnixMs(run.created_at));
  for (auto& st : run.steps) st.run_id = run.id;
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Run> {
    try {
      if (run.steps.empty()) {
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
#define NOT_LIMITED " AND (status = 'running' OR flow_id NOT IN (SELECT id FROM flows WHERE max_concurrency > 0))"
  static const std::string sql =
      "WITH cand AS ("
      "(SELECT id FROM runs WHERE " UNFINISHED " AND available_at = 0" NOT_LIMITED
      " ORDER BY created_at, id LIMIT $5) UNION ALL "
      "(SELECT id FROM runs WHERE " UNFINISHED " AND available_at > 0 AND available_at <= $3" NOT_LIMITED
      " ORDER BY created_at, id LIMIT $5)), "
      "c AS (SELECT id FROM runs WHERE id IN (SELECT id FROM cand) AND " UNFINISHED
      " AND available_at <= $3" NOT_LIMITED " ORDER BY created_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) "
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
    for (int i = 0; i < rows.size(); ++i) runs.push_back(ReadRun(rows, i));
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
    Rows rows = c.Exec("SELECT " STEP_COLS " FROM step_runs WHERE run_id = ANY($1::text[]) ORDER BY run_id, seq, path",
                       Params().TextArray(ids));
    for (auto& r : *claimed) r.steps.clear();  // a retried read starts over
    for (int i = 0; i < rows.size(); ++i) {
      StepRun st = ReadStep(rows, i);
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
Result<std::vector<Run>> PostgresStore::ClaimLimited(const std::string& node, int max, TimePoint now,
                                                     TimePoint lease_until) {
  static const std::string claim_sql =
      "UPDATE runs r SET claimed_by = $1, lease_until = $2 FROM (SELECT id FROM runs WHERE flow_id = $3 "
      "AND status = 'queued' AND available_at <= $4 ORDER BY created_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) c "
      "WHERE r.id = c.id RETURNING " +
      Prefixed(RUN_COLS, "r.");
  return impl_->Do(Retry::kIfNotCommitted, [&](Conn& c, bool) -> Result<std::vector<Run>> {
    std::vector<Run> runs;
    Rows flows = c.Exec(
        "SELECT DISTINCT flow_id FROM (SELECT flow_id FROM runs WHERE status = 'queued' AND available_at <= $1 "
        "AND flow_id IN (SELECT id FROM flows WHERE max_concurrency > 0) ORDER BY created_at, id LIMIT 64) q "
        "ORDER BY flow_id",
        Params().Time(now));
    if (flows.empty()) return runs;
    Txn txn(c);
    for (int i = 0; i < flows.size() && static_cast<int>(runs.size()) < max; ++i) {
      std::string flow_id = flows.Text(i, 0);
      Rows limit = c.Exec("SELECT max_concurrency FROM flows WHERE id = $1 FOR UPDATE", Params().Text(flow_id));
      if (limit.empty()) continue;
      int64_t max_concurrency = limit.Int(0, 0);
      if (max_concurrency <= 0) continue;
      Rows active = c.Exec(
          "SELECT count(*) FROM runs WHERE flow_id = $1 AND (status = 'running' OR (status = 'queued' "
          "AND claimed_by <> '')) AND (status = 'running' OR COALESCE(lease_until, 0) > $2)",
          Params().Text(flow_id).Time(now));
      int64_t free = max_concurrency - active.Int(0, 0);
      if (free <= 0) continue;
      free = std::min<int64_t>(free, max - static_cast<int>(runs.size()));
      Rows rows = c.Exec(claim_sql, Params().Text(node).Time(lease_until).Text(flow_id).Time(now).Int(free));
      for (int j = 0; j < rows.size(); ++j) runs.push_back(ReadRun(rows, j));
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
      for (int i = 0; i < rows.size(); ++i) run->steps.push_back(ReadStep(rows, i));
      txn->Commit();
    }
    return std::move(*run);
  });
}

namespace {

// The cursor is "<created_at ms>_<id>" of the last run on the page (as SQLite's).
std::string MakeCursor(const Run& r) {
  return std::to_string(ToUnixMs(r.created_at)) + "_" + r.id;
}

std::optional<std::pair<int64_t, std::string>> ParseCursor(const std::string& cursor) {
  auto sep = cursor.find('_');
  if (sep == std::string::npos || sep == 0 || sep + 1 == cursor.size()) return std::nullopt;
  int64_t ms = 0;
  for (size_t i = 0; i < sep; ++i) {
    if (cursor[i] < '0' || cursor[i] > '9' || ms > (INT64_MAX - 9) / 10) return std::nullopt;
    ms = ms * 10 + (cursor[i] - '0');
  }
  return std::make_pair(ms, cursor.substr(sep + 1));
}

}  // namespace

Result<RunPage> PostgresStore::ListRuns(const RunFilter& filter) {
  std::optional<std::pair<int64_t, std::string>> after;
  if (!filter.cursor.empty()) {
    after = ParseCursor(filter.cursor);
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
    for (int i = 0; i < rows.size(); ++i) page.runs.push_back(ReadRun(rows, i));
    if (static_cast<int>(page.runs.size()) > limit) {
      page.runs.pop_back();
      page.next_cursor = MakeCursor(page.runs.back());
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
        "WITH u AS (UPDATE runs SET cancel_requested = true, not_before = CASE WHEN claimed_by = '' "
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
        "UPDATE runs SET not_before = NULL WHERE id = $1 AND claimed_by = '' AND not_before IS NOT NULL AND "
        UNFINISHED,
        Params().Text(run_id));
    return rows.affected() > 0;
  });
}

Result<int64_t> PostgresStore::CountRuns(std::optional<RunStatus> status) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<int64_t> {
    if (!status) return c.Exec("SELECT COUNT(*) FROM runs").Int(0, 0);
    return c.Exec("SELECT COUNT(*) FROM runs WHERE status = $1",
                  Params().Text(ToString(*status)))
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
    st.applied = static_cast<int>(c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Int(0, 0));
    auto migrations = postgres::Migrations();
    st.known = migrations.empty() ? 0 : migrations.back().version;
    return st;
  });
}

// ---- deliveries ------------------------------------------------------------------------

Result<Delivery> PostgresStore::CreateDelivery(const Delivery& in) {
  Delivery d = in;
  if (d.received_at == TimePoint{}) d.received_at = impl_->Now();
  if (d.id.empty()) d.id = NewId(ToUnixMs(d.received_at));
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Delivery> {
    try {
      c.Exec("INSERT INTO deliveries (" DELIVERY_COLS
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
             Params()
                 .Text(d.id)
                 .Text(d.flow_id)
                 .Time(d.received_at)
                 .Text(d.method)
                 .Text(d.path)
                 .Int(d.status_code)
                 .Text(d.run_id)
                 .JsonAlways(d.headers)
                 .JsonAlways(d.query)
                 .Bytes(d.body)
                 .Text(d.content_type)
                 .Bool(d.auth_passed));
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) {
        Rows rows = c.Exec("SELECT received_at, flow_id FROM deliveries WHERE id = $1",
                           Params().Text(d.id));
        if (!rows.empty() && rows.Time(0, 0) == d.received_at && rows.Text(0, 1) == d.flow_id) {
          return d;
        }
      }
      return Fail(ErrorCode::kConflict, "delivery " + d.id + " already exists");
    }
    return d;
  });
}

Result<Delivery> PostgresStore::GetDelivery(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Delivery> {
    auto d = First(
        c.Exec("SELECT " DELIVERY_COLS " FROM deliveries WHERE id = $1", Params().Text(id)),
        ReadDelivery);
    if (!d) return NotFound("delivery " + id);
    return std::move(*d);
  });
}

Result<std::vector<Delivery>> PostgresStore::ListDeliveries(const std::string& flow_id,
                                                            int limit) {
  if (limit <= 0) limit = 50;
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<Delivery>> {
    Rows rows =
        flow_id.empty()
            ? c.Exec("SELECT " DELIVERY_COLS
                     " FROM deliveries ORDER BY received_at DESC, id DESC LIMIT $1",
                     Params().Int(limit))
            : c.Exec("SELECT " DELIVERY_COLS
                     " FROM deliveries WHERE flow_id = $1 ORDER BY received_at DESC, id DESC "
                     "LIMIT $2",
                     Params().Text(flow_id).Int(limit));
    std::vector<Delivery> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadDelivery(rows, i));
    return out;
  });
}

// ---- webhooks ----------------------------------------------------------------------------

Result<WebhookRecorded> PostgresStore::RecordWebhook(const WebhookRecord& r) {
  std::optional<Run> run = r.run;
  if (run) {
    if (run->created_at == TimePoint{}) run->created_at = impl_->Now();
    if (run->id.empty()) run->id = NewId(ToUnixMs(run->created_at));
  }
  std::optional<Delivery> delivery = r.delivery;
  if (delivery) {
    if (delivery->received_at == TimePoint{}) delivery->received_at = impl_->Now();
    if (delivery->id.empty()) delivery->id = NewId(ToUnixMs(delivery->received_at));
  }
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<WebhookRecorded> {
    WebhookRecorded out;
    if (retry && delivery) {
      // The first attempt may have committed before the connection broke.
      Rows done = c.Exec("SELECT run_id FROM deliveries WHERE id = $1", Params().Text(delivery->id));
      if (!done.empty()) {
        std::string id = done.Text(0, 0);
        if (run && id == run->id) out.run = run;
        else out.duplicate_of = id;
        out.delivery = delivery;
        out.delivery->run_id = id;
        return out;
      }
    }
    Txn txn(c);
    if (run) {
      bool take = true;
      if (!r.idempotency_key.empty()) {
        // Takes the key, or a stale one; a fresh key held by another request
        // (concurrent ones wait for its transaction) yields no row.
        Rows taken = c.Exec(
            "INSERT INTO webhook_keys (flow_id, key, run_id, created_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (flow_id, key) DO UPDATE SET run_id = EXCLUDED.run_id, created_at = EXCLUDED.created_at "
            "WHERE webhook_keys.created_at < $5 RETURNING run_id",
            Params()
                .Text(run->flow_id)
                .Text(r.idempotency_key)
                .Text(run->id)
                .Time(run->created_at)
                .Time(r.keys_since));
        if (taken.empty()) {
          Rows first = c.Exec("SELECT run_id FROM webhook_keys WHERE flow_id = $1 AND key = $2",
                              Params().Text(run->flow_id).Text(r.idempotency_key));
          if (!first.empty()) out.duplicate_of = first.Text(0, 0);
          take = false;
        }
      }
      if (take) {
        try {
          InsertRun(c, *run);
        } catch (const PgError& e) {
          if (e.sqlstate != kUniqueViolation) throw;
          return Fail(ErrorCode::kConflict, "run " + run->id + " already exists");
        }
        out.run = run;
      }
    }
    if (delivery) {
      Delivery d = *delivery;
      if (out.run) d.run_id = out.run->id;
      else if (!out.duplicate_of.empty()) d.run_id = out.duplicate_of;
      c.Exec("INSERT INTO deliveries (" DELIVERY_COLS
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
             Params()
                 .Text(d.id)
                 .Text(d.flow_id)
                 .Time(d.received_at)
                 .Text(d.method)
                 .Text(d.path)
                 .Int(d.status_code)
                 .Text(d.run_id)
                 .JsonAlways(d.headers)
                 .JsonAlways(d.query)
                 .Bytes(d.body)
                 .Text(d.content_type)
                 .Bool(d.auth_passed));
      out.delivery = std::move(d);
    }
    txn.Commit();
    return out;
  });
}

Result<std::optional<std::string>> PostgresStore::FindWebhookKey(const std::string& flow_id,
                                                                 const std::string& key,
                                                                 TimePoint since) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::optional<std::string>> {
    Rows rows = c.Exec(
        "SELECT run_id FROM webhook_keys WHERE flow_id = $1 AND key = $2 AND created_at >= $3",
        Params().Text(flow_id).Text(key).Time(since));
    if (rows.empty()) return std::optional<std::string>{};
    return std::optional<std::string>(rows.Text(0, 0));
  });
}

Result<int64_t> PostgresStore::PruneWebhookData(const std::string& flow_id, TimePoint before, int64_t keep,
                                                TimePoint keys_before, int max_rows) {
  if (max_rows <= 0) max_rows = 500;
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<int64_t> {
    int64_t deleted = 0;
    if (flow_id.empty()) {
      deleted += c.Exec("DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE received_at < $1 "
                        "ORDER BY received_at LIMIT $2)",
                        Params().Time(before).Int(max_rows))
                     .affected();
    } else {
      deleted += c.Exec("DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE flow_id = $1 "
                        "AND received_at < $2 ORDER BY received_at LIMIT $3)",
                        Params().Text(flow_id).Time(before).Int(max_rows))
                     .affected();
      if (keep > 0) {
        deleted += c.Exec("DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE flow_id = $1 "
                          "ORDER BY received_at DESC, id DESC LIMIT $2 OFFSET $3)",
                          Params().Text(flow_id).Int(max_rows).Int(keep))
                       .affected();
      }
    }
    deleted += c.Exec("DELETE FROM webhook_keys WHERE (flow_id, key) IN (SELECT flow_id, key FROM webhook_keys "
                      "WHERE created_at < $1 LIMIT $2)",
                      Params().Time(keys_before).Int(max_rows))
                   .affected();
    return deleted;
  });
}

// ---- access control (issue 9) ----------------------------------------------------

namespace {

#define USER_COLS "id, username, password_hash, role, created_at"
#define TOKEN_COLS "id, name, role, prefix, hash, created_at, created_by, expires_at, last_used_at"
#define SESSION_COLS "id_hash, user_id, created_at, last_seen_at, expires_at"

Role ReadRole(const Rows& r, int i, int col) {
  auto role = ParseRole(r.Text(i, col));
  if (!role) throw PgError("XX001", "stored role \"" + r.Text(i, col) + "\" unknown", false);
  return *role;
}

User ReadUser(const Rows& r, int i) {
  User u;
  u.id = r.Text(i, 0);
  u.username = r.Text(i, 1);
  u.password_hash = r.Text(i, 2);
  u.role = ReadRole(r, i, 3);
  u.created_at = r.Time(i, 4);
  return u;
}

ApiToken ReadToken(const Rows& r, int i) {
  ApiToken t;
  t.id = r.Text(i, 0);
  t.name = r.Text(i, 1);
  t.role = ReadRole(r, i, 2);
  t.prefix = r.Text(i, 3);
  t.hash = r.Text(i, 4);
  t.created_at = r.Time(i, 5);
  t.created_by = r.Text(i, 6);
  t.expires_at = r.OptTime(i, 7);
  t.last_used_at = r.OptTime(i, 8);
  return t;
}

Session ReadSession(const Rows& r, int i) {
  Session x;
  x.id_hash = r.Text(i, 0);
  x.user_id = r.Text(i, 1);
  x.created_at = r.Time(i, 2);
  x.last_seen_at = r.Time(i, 3);
  x.expires_at = r.Time(i, 4);
  return x;
}

}  // namespace

Result<User> PostgresStore::CreateUser(const User& in) {
  User u = in;
  if (u.created_at == TimePoint{}) u.created_at = impl_->Now();
  if (u.id.empty()) u.id = NewId(ToUnixMs(u.created_at));
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<User> {
    try {
      c.Exec("INSERT INTO users (" USER_COLS ") VALUES ($1, $2, $3, $4, $5)",
             Params().Text(u.id).Text(u.username).Text(u.password_hash).Text(RoleName(u.role)).Time(u.created_at));
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) {  // our first attempt may have committed
        auto mine = First(c.Exec("SELECT " USER_COLS " FROM users WHERE id = $1", Params().Text(u.id)), ReadUser);
        if (mine) return std::move(*mine);
      }
      return NameTaken("user", u.username);
    }
    return u;
  });
}

Result<User> PostgresStore::GetUser(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<User> {
    auto u = First(c.Exec("SELECT " USER_COLS " FROM users WHERE id = $1", Params().Text(id)), ReadUser);
    if (!u) return NotFound("user " + id);
    return std::move(*u);
  });
}

Result<User> PostgresStore::GetUserByName(const std::string& name) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<User> {
    auto u = First(c.Exec("SELECT " USER_COLS " FROM users WHERE username = $1", Params().Text(name)), ReadUser);
    if (!u) return NotFound("user named \"" + name + "\"");
    return std::move(*u);
  });
}

Result<std::vector<User>> PostgresStore::ListUsers() {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<User>> {
    Rows rows = c.Exec("SELECT " USER_COLS " FROM users ORDER BY username");
    std::vector<User> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadUser(rows, i));
    return out;
  });
}

Result<void> PostgresStore::DeleteUser(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<void> {
    if (c.Exec("DELETE FROM users WHERE id = $1", Params().Text(id)).affected() == 0) {
      if (retry) return Ok();
      return NotFound("user " + id);
    }
    return Ok();
  });
}

Result<ApiToken> PostgresStore::CreateApiToken(const ApiToken& in) {
  ApiToken t = in;
  if (t.created_at == TimePoint{}) t.created_at = impl_->Now();
  if (t.id.empty()) t.id = NewId(ToUnixMs(t.created_at));
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<ApiToken> {
    try {
      c.Exec("INSERT INTO api_tokens (" TOKEN_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
             Params()
                 .Text(t.id)
                 .Text(t.name)
                 .Text(RoleName(t.role))
                 .Text(t.prefix)
                 .Text(t.hash)
                 .Time(t.created_at)
                 .Text(t.created_by)
                 .Time(t.expires_at)
                 .Time(t.last_used_at));
    } catch (const PgError& e) {
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) {
        auto mine = First(c.Exec("SELECT " TOKEN_COLS " FROM api_tokens WHERE id = $1", Params().Text(t.id)),
                          ReadToken);
        if (mine && mine->hash == t.hash) return std::move(*mine);
      }
      return Fail(ErrorCode::kConflict, "token " + t.id + " already exists");
    }
    return t;
  });
}

Result<ApiToken> PostgresStore::GetApiTokenByHash(const std::string& hash) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<ApiToken> {
    auto t = First(c.Exec("SELECT " TOKEN_COLS " FROM api_tokens WHERE hash = $1", Params().Text(hash)), ReadToken);
    if (!t) return NotFound("token");
    return std::move(*t);
  });
}

Result<std::vector<ApiToken>> PostgresStore::ListApiTokens() {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<std::vector<ApiToken>> {
    Rows rows = c.Exec("SELECT " TOKEN_COLS " FROM api_tokens ORDER BY created_at DESC, id DESC");
    std::vector<ApiToken> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadToken(rows, i));
    return out;
  });
}

Result<void> PostgresStore::DeleteApiToken(const std::string& id) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<void> {
    if (c.Exec("DELETE FROM api_tokens WHERE id = $1", Params().Text(id)).affected() == 0) {
      if (retry) return Ok();
      return NotFound("token " + id);
    }
    return Ok();
  });
}

Result<void> PostgresStore::TouchApiToken(const std::string& id, TimePoint at) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    if (c.Exec("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", Params().Text(id).Time(at)).affected() == 0) {
      return NotFound("token " + id);
    }
    return Ok();
  });
}

Result<Session> PostgresStore::CreateSession(const Session& in) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<Session> {
    try {
      c.Exec("INSERT INTO sessions (" SESSION_COLS ") VALUES ($1, $2, $3, $4, $5)",
             Params().Text(in.id_hash).Text(in.user_id).Time(in.created_at).Time(in.last_seen_at).Time(in.expires_at));
    } catch (const PgError& e) {
      if (e.sqlstate == kForeignKeyViolation) return NotFound("user " + in.user_id);
      if (e.sqlstate != kUniqueViolation) throw;
      if (retry) return in;  // the id is 256 random bits: a clash is our first attempt
      return Fail(ErrorCode::kConflict, "session already exists");
    }
    return in;
  });
}

Result<Session> PostgresStore::GetSession(const std::string& id_hash) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<Session> {
    auto x = First(c.Exec("SELECT " SESSION_COLS " FROM sessions WHERE id_hash = $1", Params().Text(id_hash)),
                   ReadSession);
    if (!x) return NotFound("session");
    return std::move(*x);
  });
}

Result<void> PostgresStore::TouchSession(const std::string& id_hash, TimePoint at) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<void> {
    c.Exec("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2",
           Params().Text(id_hash).Time(at));
    return Ok();
  });
}

Result<void> PostgresStore::DeleteSession(const std::string& id_hash) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool retry) -> Result<void> {
    if (c.Exec("DELETE FROM sessions WHERE id_hash = $1", Params().Text(id_hash)).affected() == 0) {
      if (retry) return Ok();
      return NotFound("session");
    }
    return Ok();
  });
}

Result<int64_t> PostgresStore::PruneSessions(TimePoint idle_before, TimePoint now) {
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<int64_t> {
    return c.Exec("DELETE FROM sessions WHERE last_seen_at < $1 OR expires_at <= $2",
                  Params().Time(idle_before).Time(now))
        .affected();
  });
}

// ---- retention (issue 10) ------------------------------------------------------------

#define FINISHED "status IN ('succeeded', 'failed', 'cancelled', 'skipped')"

Result<int64_t> PostgresStore::PruneRuns(const RunPrune& p, int max_rows) {
  if (max_rows <= 0) max_rows = 500;
  // Failed runs are judged by failed_before, the others by before; the range
  // bound on finished_at (the later of the two) lets the partial index of
  // finished runs (migration 0006) stop early. Step runs go by ON DELETE CASCADE.
  TimePoint top = std::max(p.before, p.failed_before);
  return impl_->Do(Retry::kAlways, [&](Conn& c, bool) -> Result<int64_t> {
    Txn txn(c);
    int64_t deleted = 0;
    if (top > TimePoint{}) {
      std::string sql =
          "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE " FINISHED
          " AND finished_at < $1 AND (CASE WHEN status = 'failed' THEN finished_at < $2 ELSE finished_at < $3 END)";
      sql += p.flow_id.empty() ? " AND flow_id <> ALL($5::text[])" : " AND flow_id = $5";
      sql += " ORDER BY finished_at LIMIT $4)";
      Params params;
      params.Time(top).Time(p.failed_before).Time(p.before).Int(max_rows);
      if (p.flow_id.empty()) params.TextArray(p.except_flows);
      else params.Text(p.flow_id);
      deleted += c.Exec(sql, params).affected();
    }
    if (!p.flow_id.empty() && p.keep > 0 && deleted < max_rows) {
      deleted += c.Exec("DELETE FROM runs WHERE id IN (SELECT id FROM (SELECT id, status, finished_at FROM runs "
                        "WHERE flow_id = $1 AND " FINISHED " ORDER BY created_at DESC, id DESC OFFSET $2) k "
                        "WHERE status <> 'failed' OR COALESCE(finished_at, 0) < $3 LIMIT $4)",
                        Params().Text(p.flow_id).Int(p.keep).Time(p.failed_before).Int(max_rows - deleted))
                     .affected();
    }
    txn.Commit();
    return deleted;
  });
}

}  // namespace weft
