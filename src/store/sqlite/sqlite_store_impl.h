// SqliteStore::Impl, the state SqliteStore's files share, and the helpers
// they have in common: column lists, row readers, error helpers. Private to
// store/sqlite/: each sqlite_store_*.cpp defines the members of one
// aggregate (flows, connections, runs, ...) on this Impl. Thread-safety is
// the store's: writes go through the Writer, reads through the reader pool.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/common/columns.h"
#include "store/common/defaults.h"
#include "store/common/errors.h"
#include "store/common/row_readers.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/sqlite_writer.h"
#include "store/sqlite/webhook_journal.h"
#include "store/sqlite/webhook_record.h"

namespace weft {

using sqlite::Conn;
using sqlite::DumpJson;
using sqlite::Guard;
using sqlite::ReadTxn;
using sqlite::SqlError;
using sqlite::Stmt;
using sqlite::WebhookRows;
using sqlite::WriteTxn;
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

// The schedule's state lives in its own narrow row (migration 0007).
#define FLOW_COLS                                                         \
  FLOW_BASE_COLS                                                          \
  ", (SELECT next_run_at FROM schedule_state WHERE flow_id = flows.id), " \
  "ifnull((SELECT missed_fires FROM schedule_state WHERE flow_id = flows.id), 0)"

// The unfinished runs (queued or running), read through the queue's three
// partial indexes (migration 0002), which together hold exactly them; each
// branch repeats its index's WHERE so SQLite may use it. runs_by_status holds
// finished runs only (migration 0008), under the same condition as here.
#define UNFINISHED_RUNS                                                                          \
  "(SELECT id, created_at, status FROM runs WHERE status IN ('queued', 'running') AND "          \
  "claimed_by = '' AND not_before IS NULL "                                                      \
  "UNION ALL SELECT id, created_at, status FROM runs WHERE status IN ('queued', 'running') AND " \
  "claimed_by = '' AND not_before IS NOT NULL "                                                  \
  "UNION ALL SELECT id, created_at, status FROM runs WHERE status IN ('queued', 'running') AND " \
  "claimed_by <> '')"
#define FINISHED_STATUS "status NOT IN ('queued', 'running')"  // migration 0009

// The inserts of a new run and a new delivery (CreateRun, CreateDelivery,
// RecordWebhook and the webhook journal's import).
inline constexpr const char* kInsertRun = "INSERT INTO runs (" RUN_COLS
                                          ") VALUES (:id, :flow_id, :flow_name, :flow_version, "
                                          ":trigger_type, :trigger, :status, :scheduled_for, "
                                          ":created_at, :started_at, :finished_at, :input, "
                                          ":output, :error, :retry_of, :claimed_by, :lease_until, "
                                          ":not_before, :cancel_requested)";
inline constexpr const char* kInsertDelivery =
    "INSERT INTO deliveries (" DELIVERY_COLS
    ") VALUES (:id, :flow_id, :received_at, :method, :path, :status_code, :run_id, :headers, "
    ":query, :body, "
    ":content_type, :auth_passed)";

inline constexpr const char* kUnfinished = UNFINISHED;

inline bool IsConstraint(const SqlError& e, int extended) { return e.code == extended; }

// The statement's current row, as the shared row readers read it.
class SqliteRow {
 public:
  explicit SqliteRow(Stmt& s) : s_(&s) {}
  bool IsNull(int col) const { return s_->IsNull(col); }
  std::string Text(int col) const { return s_->ColText(col); }
  int64_t Int(int col) const { return s_->ColInt(col); }
  bool Bool(int col) const { return s_->ColInt(col) != 0; }
  weft::Json Json(int col) const { return s_->ColJson(col); }
  std::string Bytes(int col) const { return s_->ColBlob(col); }

 private:
  Stmt* s_;
};

// The first row of `s` read by `read`, or nullopt; steps to the end so that a
// write with RETURNING has finished (and, outside a transaction, committed).
template <typename T>
std::optional<T> One(Stmt& s, T (*read)(const SqliteRow&)) {
  if (!s.Step()) return std::nullopt;
  T value = read(SqliteRow(s));
  while (s.Step()) {
  }
  return value;
}

// Inserts `run` (and the steps given with it) in the open transaction or as
// one statement; kConflict when the id exists. sqlite_store_runs.cpp.
Result<Run> InsertRun(Conn& c, Run run, TimePoint now);
// Binds a run's state columns (:status ... :cancel_requested); sqlite_store_runs.cpp.
void BindRunState(Stmt& s, const Run& r);
// A webhook's run and delivery rows (RecordWebhook and the journal's
// import); sqlite_store_webhooks.cpp. Both throw SqlError.
void InsertWebhookRun(Conn& c, const WebhookRows& w);
// Records that run `run_id` references each of `ids` (run_files), in the open
// transaction; a reference recorded before stays.
void InsertFileRefs(Conn& c, const std::string& run_id, const std::vector<std::string>& ids);
void InsertWebhookDelivery(Conn& c, const WebhookRows& w, const std::string& run_id);

struct SqliteStore::Impl {
  explicit Impl(const SqliteOptions& o) : options(o), clock(o.clock ? o.clock : &system_clock) {}
  ~Impl();

  TimePoint Now() const { return clock->Now(); }

  // Runs f(writer) as one atomic write; exceptions become Errors. Writes that
  // arrive while another is running are committed together (group commit):
  // one leader runs every waiting write in one transaction, each atomic on
  // its own, and each caller returns once the transaction holding its write
  // has committed. One commit (one fsync with FULL) serves many writes.
  template <typename F>
  auto Write(F&& f) -> decltype(f(std::declval<Conn&>())) {
    return Write(std::forward<F>(f), true);
  }

  // Write for hot writes whose f opens its WriteTxn with kNoSavepoint: in a
  // group commit such a write has no savepoint of its own. f must make no
  // change before the last point where it can fail on purpose (a constraint
  // it expects, a Fail it returns); a failure after a change (an I/O error,
  // no memory, a full disk) rolls the whole group commit back and fails
  // every write in it (RunBatch), so nothing half-done is committed. A
  // savepoint copies each page the write touches into SQLite's sub-journal:
  // dropping it took ~17% off a webhook's CPU (docs/benchmarks.md).
  template <typename F>
  auto WriteUnguarded(F&& f) -> decltype(f(std::declval<Conn&>())) {
    return Write(std::forward<F>(f), false);
  }

  template <typename F>
  auto Write(F&& f, bool guarded) -> decltype(f(std::declval<Conn&>())) {
    return writer.Write(std::forward<F>(f), guarded);
  }

  // Runs f(reader) on a pooled read connection; exceptions become Errors.
  template <typename F>
  auto Read(F&& f) -> decltype(f(std::declval<Conn&>())) {
    return Guard([&]() -> decltype(f(std::declval<Conn&>())) {
      Conn* c = nullptr;
      {
        std::unique_lock lock(pool_mu);
        pool_cv.wait(lock, [&] { return !idle.empty(); });
        c = idle.back();
        idle.pop_back();
      }
      struct GiveBack {
        Impl* impl;
        Conn* c;
        ~GiveBack() {
          {
            std::lock_guard lock(impl->pool_mu);
            impl->idle.push_back(c);
          }
          impl->pool_cv.notify_one();
        }
      } give_back{this, c};
      return f(*c);
    });
  }

  // Read for reads of runs and deliveries: sees every webhook accepted
  // before it (CatchUp).
  template <typename F>
  auto ReadRuns(F&& f) -> decltype(f(std::declval<Conn&>())) {
    if (auto caught_up = CatchUp(); !caught_up) return Fail(caught_up.error());
    return Read(std::forward<F>(f));
  }

  SqliteOptions options;
  SystemClock system_clock;
  const Clock* clock;
  std::string db_path;
  int lock_fd = -1;
  int schema_version = 0;

  sqlite::Writer writer;  // the one write connection and its group commit

  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::vector<std::unique_ptr<Conn>> readers;
  std::vector<Conn*> idle;

  // Checkpoints off the writer's path. SQLite's automatic checkpoint runs in
  // the committing thread and, with synchronous NORMAL or FULL, waits for two
  // fsyncs (WAL, then database): every ~1,000 WAL pages the single writer, and
  // every write queued behind it, stalled for them (some 25 ms per checkpoint
  // on this project's build machine, a large share of the writer's time under
  // webhook load). Instead the writer's WAL hook wakes a thread with its own
  // connection that runs PASSIVE checkpoints, which never block the writer.
  // A WAL only starts over once a checkpoint has caught up with the last
  // commit, which a PASSIVE checkpoint beside a busy writer rarely does; so at
  // a larger size the writer checkpoints itself, which copies just the pages
  // the thread has not copied yet, and the WAL starts over (stays bounded).
  // That stall (a copy and two fsyncs, 50-70 ms) was the scheduler's worst
  // second at 100,000 schedules with the writer's own checkpoint at 4,000
  // pages; at 16,000 the thread, woken every 1,000 pages, catches up in the
  // gaps between bursts and the writer rarely gets there.
  static constexpr int kCheckpointPages = 1000;
  static constexpr int kWriterCheckpointPages = 16000;  // ~64 MB (journal_size_limit)
  std::unique_ptr<Conn> checkpoint_conn;
  std::thread checkpointer;
  std::mutex checkpoint_mu;
  std::condition_variable checkpoint_cv;
  bool checkpoint_wanted = false;
  bool checkpoint_stop = false;
  int checkpoint_asked_at = 0;  // WAL pages when the thread was last woken (writer thread only)

  static int OnWalCommit(void* arg, sqlite3* db, const char* name, int pages);
  void StartCheckpointer(std::unique_ptr<Conn> conn);
  void StopCheckpointer();

  // ---- the webhook journal (store/sqlite/webhook_journal.h) ----
  // RecordWebhook appends a request's run and delivery to the journal and
  // answers; the import thread takes every record appended so far into the
  // database in one write (a few thousand at a time under load), with the
  // journal's (generation, offset) in the same transaction. A read of runs or
  // deliveries first waits until what was appended before it is imported
  // (CatchUp), so the API never misses an accepted webhook. Measured in
  // docs/benchmarks.md: one SQLite transaction per request, even grouped, cost
  // four times the CPU of the rest of the request.
  static constexpr size_t kImportBytes = 4 << 20;  // journal bytes per import transaction
  static constexpr uint64_t kRestartBytes = 4
                                            << 20;  // start the file over past this, once caught up
  std::unique_ptr<sqlite::WebhookJournal> journal;
  bool journal_appends = false;       // RecordWebhook appends (else: the direct write)
  uint64_t import_offset = 0;         // the import thread's, and Open's
  std::atomic<uint64_t> appended{0};  // records appended by this process
  std::atomic<uint64_t> imported{0};  // of those, imported (grows under import_mu)
  std::atomic<bool> importer_sleeping{false};
  mutable std::mutex import_mu;
  std::condition_variable import_cv;    // wakes the import thread
  std::condition_variable imported_cv;  // wakes CatchUp
  bool import_stop = false;
  bool import_urgent = false;  // a CatchUp waits (import_mu)
  std::string import_problem;  // the last import's error, "" after a success (import_mu)
  mutable std::mutex append_mu;
  std::string append_problem;  // the last append's error, "" after a success (append_mu)
  static constexpr auto kGather = std::chrono::milliseconds(2);
  std::thread importer;
  std::mutex listener_mu;
  std::function<void()> on_imported;

  // Takes the journal's next records into the database; how many (0: none).
  Result<size_t> ImportSome();

  // Open: where the import got to, from the database; a journal of the next
  // generation, or shorter than that (started over after a full import, with
  // a crash before the next import was recorded), holds nothing imported yet.
  // False when the journal is not this database's: one that has started over
  // (generation past 1) for a database that never imported (a weft.db
  // deleted or replaced beside it), or one generations away (a restored
  // copy). Its imported part may be released (holes), where a read from its
  // start would stop and cut off the rest.
  bool LoadImportOffset();

  void StartImporter();
  void StopImporter();

  // Appends a webhook's rows to the journal; durable when this returns.
  Result<void> Journal(const WebhookRows& rows);

  // Waits until every webhook the journal took in before this call is in the
  // database (a read's view then holds them). Bounded: should the import be
  // failing (a full disk), the read goes on with what is there.
  // Waits until every webhook journaled so far is in the database. Fails
  // (kUnavailable) when that cannot happen soon, as while the import fails
  // on a full disk: a read then answers an error, never a short list.
  Result<void> CatchUp();
  // The journal's last append or import failure, "" once one succeeded since.
  std::string JournalProblem() const;
  void ForgetAppendProblem() {
    std::lock_guard lock(append_mu);
    append_problem.clear();
  }
};

}  // namespace weft
