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
#include "store/common/columns.h"
#include "store/common/defaults.h"
#include "store/common/errors.h"
#include "store/common/row_readers.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/postgres_store.h"

namespace weft {

using pg::Conn;
using pg::Params;
using pg::PgError;
using pg::Pool;
using pg::Rows;
using store::NameTaken;
using store::NotFound;
using store::ReadConnection;
using store::ReadDelivery;
using store::ReadFlow;
using store::ReadRun;
using store::ReadRunStatus;
using store::ReadSession;
using store::ReadStep;
using store::ReadToken;
using store::ReadUser;
using store::ReadVersion;
using store::StampNew;
using store::TokenTaken;

// The schedule's state is in the flow's row.
#define FLOW_COLS FLOW_BASE_COLS ", next_run_at, missed_fires"

inline constexpr const char* kUniqueViolation = "23505";
inline constexpr const char* kForeignKeyViolation = "23503";

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
  } catch (const store::CorruptValue& e) {
    return Fail(ErrorCode::kInternal, e.what());
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
    if (metrics::Enabled() && !std::string_view(begin).ends_with("READ ONLY"))
      started_ = std::chrono::steady_clock::now();
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
    if (started_)
      metrics::Weft().store_write.ObserveDuration(std::chrono::steady_clock::now() - *started_);
  }

 private:
  Conn& c_;
  bool done_ = false;
  std::optional<std::chrono::steady_clock::time_point> started_;
};

// Row `row` of `rows`, as the shared row readers read it.
class PgRow {
 public:
  PgRow(const Rows& rows, int row) : rows_(&rows), row_(row) {}
  bool IsNull(int col) const { return rows_->IsNull(row_, col); }
  std::string Text(int col) const { return rows_->Text(row_, col); }
  int64_t Int(int col) const { return rows_->Int(row_, col); }
  bool Bool(int col) const { return rows_->Bool(row_, col); }
  weft::Json Json(int col) const { return rows_->Json(row_, col); }
  std::string Bytes(int col) const { return rows_->Bytes(row_, col); }

 private:
  const Rows* rows_;
  int row_;
};

template <typename T>
std::optional<T> First(const Rows& rows, T (*read)(const PgRow&)) {
  if (rows.empty()) return std::nullopt;
  return read(PgRow(rows, 0));
}

inline std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Inserts or replaces the step run (run_id, path); postgres_store_runs.cpp.
bool UpsertStep(Conn& c, const StepRun& st);
// Records that run `run_id` references each of `ids` (run_files).
void InsertFileRefs(Conn& c, const std::string& run_id, const std::vector<std::string>& ids);
// Inserts a new run as given; postgres_store_runs.cpp. Throws PgError.
void InsertRun(Conn& c, const Run& run);

// What may be retried once after the connection broke under an operation.
enum class Retry {
  kAlways,          // reads, idempotent writes, and writes that recognise their own first attempt
  kIfNotCommitted,  // only when nothing could have committed (ClaimRuns)
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
