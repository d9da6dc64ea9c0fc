// PostgresStore::Impl, the state PostgresStore's files share, and the
// helpers they have in common: column lists, row readers, error helpers, the
// transaction guard. Private to store/postgres/: each postgres_store_*.cpp
// defines the members of one aggregate (flows, connections, runs, ...).
// Thread-safety is the store's: every operation takes a pooled connection.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/metrics.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/postgres_store.h"

namespace weft {

using pg::Conn;
using pg::Params;
using pg::PgError;
using pg::Pool;
using pg::Rows;

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

inline constexpr const char* kUniqueViolation = "23505";
inline constexpr const char* kForeignKeyViolation = "23503";

inline Unexpected NotFound(const std::string& what) {
  return Fail(ErrorCode::kNotFound, what + " not found");
}

inline Unexpected NameTaken(const std::string& what, const std::string& name) {
  return Fail(ErrorCode::kConflict, "a " + what + " named \"" + name + "\" already exists");
}

inline Unexpected TokenTaken() {
  return Fail(ErrorCode::kConflict, "the webhook token is already used by another flow");
}

inline bool IsUnique(const PgError& e, const char* constraint) {
  return e.sqlstate == kUniqueViolation && e.constraint == constraint;
}

inline ErrorCode CodeFor(const PgError& e) {
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

inline Flow ReadFlow(const Rows& r, int i) {
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

inline FlowVersion ReadVersion(const Rows& r, int i) {
  FlowVersion v;
  v.flow_id = r.Text(i, 0);
  v.version = static_cast<int>(r.Int(i, 1));
  v.document = r.Json(i, 2);
  v.created_at = r.Time(i, 3);
  v.created_by = r.Text(i, 4);
  return v;
}

inline Connection ReadConnection(const Rows& r, int i) {
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

inline RunStatus ReadRunStatus(const Rows& r, int i, int col) {
  auto st = ParseRunStatus(r.Text(i, col));
  if (!st) throw PgError("XX001", "stored run status \"" + r.Text(i, col) + "\" unknown", false);
  return *st;
}

inline Run ReadRun(const Rows& r, int i) {
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

inline StepRun ReadStep(const Rows& r, int i) {
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

inline Delivery ReadDelivery(const Rows& r, int i) {
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

inline std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Inserts or replaces the step run (run_id, path); postgres_store_runs.cpp.
bool UpsertStep(Conn& c, const StepRun& st);
// Inserts a new run as given; postgres_store_runs.cpp. Throws PgError.
void InsertRun(Conn& c, const Run& run);

// What may be retried once after the connection broke under an operation.
enum class Retry {
  kAlways,           // reads, idempotent writes, and writes that recognise their own first attempt
  kIfNotCommitted,   // only when nothing could have committed (ClaimRuns)
};

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

}  // namespace weft
