#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_migrations.h"
#include "store/sqlite/webhook_journal.h"

namespace weft {

using sqlite::Conn;
using sqlite::DumpJson;
using sqlite::ReadTxn;
using sqlite::SqlError;
using sqlite::Stmt;
using sqlite::WriteTxn;

namespace {

// Column lists, in the order the Read* functions below expect them.
#define FLOW_BASE_COLS                                                                          \
  "id, name, description, version, document, active, trigger_type, webhook_token, created_at, " \
  "updated_at, updated_by"
// The schedule's state lives in its own narrow row (migration 0007).
#define FLOW_COLS                                                                           \
  FLOW_BASE_COLS ", (SELECT next_run_at FROM schedule_state WHERE flow_id = flows.id), "   \
                 "ifnull((SELECT missed_fires FROM schedule_state WHERE flow_id = flows.id), 0)"
#define VERSION_COLS "flow_id, version, document, created_at, created_by"
#define CONNECTION_COLS \
  "id, name, connector, settings, auth, active, created_at, updated_at, updated_by"
#define RUN_COLS                                                                         \
  "id, flow_id, flow_name, flow_version, trigger_type, trigger, status, scheduled_for, " \
  "created_at, started_at, finished_at, input, output, error, retry_of, claimed_by, "    \
  "lease_until, not_before, cancel_requested"
#define STEP_COLS                                                                        \
  "run_id, path, step_id, uses, seq, status, attempts, started_at, finished_at, input, " \
  "output, error, logs, wake_at, state"
#define DELIVERY_COLS                                                                   \
  "id, flow_id, received_at, method, path, status_code, run_id, headers, query, body, " \
  "content_type, auth_passed"

// The unfinished runs (queued or running), read through the queue's three
// partial indexes (migration 0002), which together hold exactly them; each
// branch repeats its index's WHERE so SQLite may use it. runs_by_status holds
// finished runs only (migration 0008), under the same condition as here.
#define UNFINISHED_RUNS                                                                         \
  "(SELECT id, created_at, status FROM runs WHERE status IN ('queued', 'running') AND "         \
  "claimed_by = '' AND not_before IS NULL "                                                     \
  "UNION ALL SELECT id, created_at, status FROM runs WHERE status IN ('queued', 'running') AND " \
  "claimed_by = '' AND not_before IS NOT NULL "                                                 \
  "UNION ALL SELECT id, created_at, status FROM runs WHERE status IN ('queued', 'running') AND " \
  "claimed_by <> '')"
#define FINISHED_STATUS "status NOT IN ('queued', 'running')"  // migration 0009

// The inserts of a new run and a new delivery (CreateRun, CreateDelivery,
// RecordWebhook and the webhook journal's import).
constexpr const char* kInsertRun =
    "INSERT INTO runs (" RUN_COLS
    ") VALUES (:id, :flow_id, :flow_name, :flow_version, :trigger_type, :trigger, :status, :scheduled_for, "
    ":created_at, :started_at, :finished_at, :input, :output, :error, :retry_of, :claimed_by, :lease_until, "
    ":not_before, :cancel_requested)";
constexpr const char* kInsertDelivery =
    "INSERT INTO deliveries (" DELIVERY_COLS
    ") VALUES (:id, :flow_id, :received_at, :method, :path, :status_code, :run_id, :headers, :query, :body, "
    ":content_type, :auth_passed)";

constexpr const char* kUnfinished = "status IN ('queued', 'running')";

Unexpected NotFound(const std::string& what) {
  return Fail(ErrorCode::kNotFound, what + " not found");
}

ErrorCode CodeFor(int sqlite_code) {
  switch (sqlite_code & 0xff) {
    case SQLITE_CONSTRAINT:
      return ErrorCode::kConflict;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

// Runs `f`, turning any exception into an Error: none leaves the store.
template <typename F>
auto Guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const SqlError& e) {
    return Fail(CodeFor(e.code), e.what());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("store: ") + e.what());
  } catch (...) {
    return Fail(ErrorCode::kInternal, "store: unknown error");
  }
}

bool IsConstraint(const SqlError& e, int extended) { return e.code == extended; }

Flow ReadFlow(Stmt& s) {
  Flow f;
  f.id = s.ColText(0);
  f.name = s.ColText(1);
  f.description = s.ColText(2);
  f.version = static_cast<int>(s.ColInt(3));
  f.document = s.ColJson(4);
  f.active = s.ColInt(5) != 0;
  f.trigger_type = s.ColText(6);
  f.webhook_token = s.ColText(7);
  f.created_at = s.ColTime(8);
  f.updated_at = s.ColTime(9);
  f.updated_by = s.ColText(10);
  f.next_run_at = s.ColOptTime(11);
  f.missed_fires = s.ColInt(12);
  return f;
}

FlowVersion ReadVersion(Stmt& s) {
  FlowVersion v;
  v.flow_id = s.ColText(0);
  v.version = static_cast<int>(s.ColInt(1));
  v.document = s.ColJson(2);
  v.created_at = s.ColTime(3);
  v.created_by = s.ColText(4);
  return v;
}

Connection ReadConnection(Stmt& s) {
  Connection c;
  c.id = s.ColText(0);
  c.name = s.ColText(1);
  c.connector = s.ColText(2);
  c.settings = s.ColJson(3);
  c.auth = s.ColJson(4);
  c.active = s.ColInt(5) != 0;
  c.created_at = s.ColTime(6);
  c.updated_at = s.ColTime(7);
  c.updated_by = s.ColText(8);
  return c;
}

RunStatus ReadRunStatus(Stmt& s, int col) {
  auto st = ParseRunStatus(s.ColText(col));
  if (!st) throw SqlError(SQLITE_CORRUPT, "stored run status \"" + s.ColText(col) + "\" unknown");
  return *st;
}

Run ReadRun(Stmt& s) {
  Run r;
  r.id = s.ColText(0);
  r.flow_id = s.ColText(1);
  r.flow_name = s.ColText(2);
  r.flow_version = static_cast<int>(s.ColInt(3));
  r.trigger_type = s.ColText(4);
  r.trigger = s.ColJson(5);
  r.status = ReadRunStatus(s, 6);
  r.scheduled_for = s.ColOptTime(7);
  r.created_at = s.ColTime(8);
  r.started_at = s.ColOptTime(9);
  r.finished_at = s.ColOptTime(10);
  r.input = s.ColJson(11);
  r.output = s.ColJson(12);
  r.error = s.ColJson(13);
  r.retry_of = s.ColText(14);
  r.claimed_by = s.ColText(15);
  r.lease_until = s.ColOptTime(16);
  r.not_before = s.ColOptTime(17);
  r.cancel_requested = s.ColInt(18) != 0;
  return r;
}

// A run's JSON columns as stored text (nullopt for SQL NULL): trigger, input,
// output, error. ClaimRuns parses them after its write, not inside it.
using RunJsonText = std::array<std::optional<std::string>, 4>;

Run ReadRunKeepingJsonText(Stmt& s, RunJsonText& text) {
  static constexpr int kCols[4] = {5, 11, 12, 13};
  for (int i = 0; i < 4; ++i)
    text[i] = s.IsNull(kCols[i]) ? std::nullopt : std::optional<std::string>(s.ColText(kCols[i]));
  Run r;
  r.id = s.ColText(0);
  r.flow_id = s.ColText(1);
  r.flow_name = s.ColText(2);
  r.flow_version = static_cast<int>(s.ColInt(3));
  r.trigger_type = s.ColText(4);
  r.status = ReadRunStatus(s, 6);
  r.scheduled_for = s.ColOptTime(7);
  r.created_at = s.ColTime(8);
  r.started_at = s.ColOptTime(9);
  r.finished_at = s.ColOptTime(10);
  r.retry_of = s.ColText(14);
  r.claimed_by = s.ColText(15);
  r.lease_until = s.ColOptTime(16);
  r.not_before = s.ColOptTime(17);
  r.cancel_requested = s.ColInt(18) != 0;
  return r;
}

Result<void> ParseRunJson(Run& r, const RunJsonText& text) {
  Json* fields[4] = {&r.trigger, &r.input, &r.output, &r.error};
  for (int i = 0; i < 4; ++i) {
    if (!text[i]) continue;
    std::string error;
    auto j = ParseJson(*text[i], &error);
    if (!j) return Fail(ErrorCode::kInternal, "stored JSON of run " + r.id + " is unreadable: " + error);
    *fields[i] = std::move(*j);
  }
  return Ok();
}

StepRun ReadStep(Stmt& s) {
  StepRun st;
  st.run_id = s.ColText(0);
  st.path = s.ColText(1);
  st.step_id = s.ColText(2);
  st.uses = s.ColText(3);
  st.seq = static_cast<int>(s.ColInt(4));
  auto status = ParseStepStatus(s.ColText(5));
  if (!status) {
    throw SqlError(SQLITE_CORRUPT, "stored step status \"" + s.ColText(5) + "\" unknown");
  }
  st.status = *status;
  st.attempts = static_cast<int>(s.ColInt(6));
  st.started_at = s.ColOptTime(7);
  st.finished_at = s.ColOptTime(8);
  st.input = s.ColJson(9);
  st.output = s.ColJson(10);
  st.error = s.ColJson(11);
  st.logs = s.IsNull(12) ? Json::array() : s.ColJson(12);
  st.wake_at = s.ColOptTime(13);
  st.state = s.ColJson(14);
  return st;
}

Delivery ReadDelivery(Stmt& s) {
  Delivery d;
  d.id = s.ColText(0);
  d.flow_id = s.ColText(1);
  d.received_at = s.ColTime(2);
  d.method = s.ColText(3);
  d.path = s.ColText(4);
  d.status_code = static_cast<int>(s.ColInt(5));
  d.run_id = s.ColText(6);
  d.headers = s.ColJson(7);
  d.query = s.ColJson(8);
  d.body = s.ColBlob(9);
  d.content_type = s.ColText(10);
  d.auth_passed = s.ColInt(11) != 0;
  return d;
}

// The first row of `s` read by `read`, or nullopt; steps to the end so that a
// write with RETURNING has finished (and, outside a transaction, committed).
template <typename T>
std::optional<T> One(Stmt& s, T (*read)(Stmt&)) {
  if (!s.Step()) return std::nullopt;
  T value = read(s);
  while (s.Step()) {
  }
  return value;
}

std::optional<Flow> FindFlow(Conn& c, const char* column, const std::string& value) {
  Stmt s(c, std::string("SELECT " FLOW_COLS " FROM flows WHERE ") + column + " = :v");
  s.Text(":v", value);
  return One(s, ReadFlow);
}

// True when another flow than `except_id` has `column` = `value`.
bool FlowTaken(Conn& c, const char* column, const std::string& value,
               const std::string& except_id) {
  Stmt s(c, std::string("SELECT 1 FROM flows WHERE ") + column + " = :v AND id <> :id");
  s.Text(":v", value).Text(":id", except_id);
  return s.Step();
}

Unexpected NameTaken(const std::string& what, const std::string& name) {
  return Fail(ErrorCode::kConflict, "a " + what + " named \"" + name + "\" already exists");
}

Unexpected TokenTaken() {
  return Fail(ErrorCode::kConflict, "the webhook token is already used by another flow");
}

void InsertVersion(Conn& c, const Flow& f, const std::string& document) {
  Stmt s(c,
         "INSERT INTO flow_versions (flow_id, version, document, created_at, created_by) "
         "VALUES (:flow_id, :version, :document, :created_at, :created_by)");
  s.Text(":flow_id", f.id)
      .Int(":version", f.version)
      .Text(":document", document)
      .Time(":created_at", f.updated_at)
      .Text(":created_by", f.updated_by)
      .Run();
}

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
  return true;
}

// ---- webhooks: the rows of one request -------------------------------------------

// A webhook's run and delivery as RecordWebhook writes them, with their JSON
// already text: the direct write and the journal's import share it.
struct WebhookRows {
  std::optional<Run> run;
  std::optional<std::string> trigger_text, input_text;  // nullopt: NULL
  std::optional<Delivery> delivery;
  std::string headers_text, query_text;
};

// Inserts the run; throws SqlError (SQLITE_CONSTRAINT_PRIMARYKEY: id taken).
void InsertWebhookRun(Conn& c, const WebhookRows& w) {
  const Run& run = *w.run;
  Stmt s(c, kInsertRun);
  s.Text(":id", run.id)
      .Text(":flow_id", run.flow_id)
      .Text(":flow_name", run.flow_name)
      .Int(":flow_version", run.flow_version)
      .Text(":trigger_type", run.trigger_type)
      .Time(":created_at", run.created_at)
      .Text(":retry_of", run.retry_of);
  if (w.trigger_text) s.Text(":trigger", *w.trigger_text);
  else s.Null(":trigger");
  if (w.input_text) s.Text(":input", *w.input_text);
  else s.Null(":input");
  BindRunState(s, run);
  s.Run();
}

// Inserts the delivery with `run_id`; throws SqlError.
void InsertWebhookDelivery(Conn& c, const WebhookRows& w, const std::string& run_id) {
  const Delivery& d = *w.delivery;
  Stmt s(c, kInsertDelivery);
  s.Text(":id", d.id)
      .Text(":flow_id", d.flow_id)
      .Time(":received_at", d.received_at)
      .Text(":method", d.method)
      .Text(":path", d.path)
      .Int(":status_code", d.status_code)
      .Text(":run_id", run_id)
      .Text(":headers", w.headers_text)
      .Text(":query", w.query_text)
      .Blob(":body", d.body)
      .Text(":content_type", d.content_type)
      .Int(":auth_passed", d.auth_passed ? 1 : 0);
  s.Run();
}

// A journal record (store/sqlite/webhook_journal.h) is a queued run with no
// state of its own yet, and its delivery if any: a version byte, then each
// field as a u64 length and bytes, numbers as 8 bytes, little-endian.
constexpr char kRecordVersion = 1;

class RecordWriter {
 public:
  void Str(std::string_view v) {
    U64(v.size());
    out_.append(v);
  }
  void Opt(const std::optional<std::string>& v) {
    out_.push_back(v ? 1 : 0);
    if (v) Str(*v);
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void Byte(char b) { out_.push_back(b); }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  std::string Str() {
    uint64_t n = U64();
    if (!ok_ || n > in_.size()) return Bad();
    std::string v(in_.substr(0, n));
    in_.remove_prefix(n);
    return v;
  }
  std::optional<std::string> Opt() {
    if (Byte() == 0) return std::nullopt;
    return Str();
  }
  uint64_t U64() {
    if (in_.size() < 8) return Bad(), 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(8);
    return v;
  }
  char Byte() {
    if (in_.empty()) return Bad(), 0;
    char b = in_[0];
    in_.remove_prefix(1);
    return b;
  }

 private:
  std::string Bad() {
    ok_ = false;
    in_ = {};
    return {};
  }
  std::string_view in_;
  bool ok_ = true;
};

// Whether RecordWebhook may take `r` into the journal: a new queued run
// without a key (a key is checked against the database), as the receiver
// makes them, and a delivery whose id the store gives.
bool Journalable(const WebhookRecord& r) {
  if (!r.run || !r.idempotency_key.empty()) return false;
  const Run& run = *r.run;
  return run.status == RunStatus::kQueued && run.steps.empty() && !run.scheduled_for && !run.started_at &&
         !run.finished_at && run.output.is_null() && run.error.is_null() && run.claimed_by.empty() &&
         !run.lease_until && !run.not_before && !run.cancel_requested &&
         (!r.delivery || r.delivery->id.empty());
}

std::string EncodeWebhook(const WebhookRows& w) {
  RecordWriter out;
  const Run& run = *w.run;
  out.Byte(kRecordVersion);
  out.Str(run.id);
  out.Str(run.flow_id);
  out.Str(run.flow_name);
  out.U64(static_cast<uint64_t>(run.flow_version));
  out.Str(run.trigger_type);
  out.U64(static_cast<uint64_t>(ToUnixMs(run.created_at)));
  out.Str(run.retry_of);
  out.Opt(w.trigger_text);
  out.Opt(w.input_text);
  out.Byte(w.delivery ? 1 : 0);
  if (w.delivery) {
    const Delivery& d = *w.delivery;
    out.Str(d.id);
    out.Str(d.flow_id);
    out.U64(static_cast<uint64_t>(ToUnixMs(d.received_at)));
    out.Str(d.method);
    out.Str(d.path);
    out.U64(static_cast<uint64_t>(d.status_code));
    out.Str(w.headers_text);
    out.Str(w.query_text);
    out.Str(d.body);
    out.Str(d.content_type);
    out.Byte(d.auth_passed ? 1 : 0);
  }
  return std::move(out.out());
}

bool DecodeWebhook(std::string_view payload, WebhookRows& w) {
  RecordReader in(payload);
  if (in.Byte() != kRecordVersion) return false;
  Run& run = w.run.emplace();
  run.status = RunStatus::kQueued;
  run.id = in.Str();
  run.flow_id = in.Str();
  run.flow_name = in.Str();
  run.flow_version = static_cast<int>(in.U64());
  run.trigger_type = in.Str();
  run.created_at = FromUnixMs(static_cast<int64_t>(in.U64()));
  run.retry_of = in.Str();
  w.trigger_text = in.Opt();
  w.input_text = in.Opt();
  if (in.Byte() != 0) {
    Delivery& d = w.delivery.emplace();
    d.id = in.Str();
    d.flow_id = in.Str();
    d.received_at = FromUnixMs(static_cast<int64_t>(in.U64()));
    d.method = in.Str();
    d.path = in.Str();
    d.status_code = static_cast<int>(in.U64());
    w.headers_text = in.Str();
    w.query_text = in.Str();
    d.body = in.Str();
    d.content_type = in.Str();
    d.auth_passed = in.Byte() != 0;
    d.run_id = run.id;
  }
  return in.ok();
}

}  // namespace

bool DecodesAsWebhookRecord(std::string_view payload) {
  WebhookRows w;
  return DecodeWebhook(payload, w);
}

namespace {

// Imports one journal record into the open transaction. A record that cannot
// go in (unreadable, or its run id taken: a record imported before, as by a
// restore over the data dir) is left out and logged; it never stops the
// records behind it. A delivery whose flow was deleted meanwhile is dropped,
// as the flow's ON DELETE CASCADE would have dropped it, and its run kept.
void ImportWebhookRecord(Conn& c, std::string_view payload) {
  WebhookRows w;
  if (!DecodeWebhook(payload, w)) {
    log::Warn("webhook journal: an unreadable record was left out");
    return;
  }
  auto constraint = [](const SqlError& e) { return (e.code & 0xff) == SQLITE_CONSTRAINT; };
  try {
    InsertWebhookRun(c, w);
  } catch (const SqlError& e) {
    if (!constraint(e)) throw;
    log::Warn("webhook journal: a run was left out", {{"run_id", w.run->id}, {"error", e.what()}});
    return;
  }
  if (!w.delivery) return;
  try {
    InsertWebhookDelivery(c, w, w.run->id);
  } catch (const SqlError& e) {
    if (!constraint(e)) throw;
    if (e.code == SQLITE_CONSTRAINT_FOREIGNKEY) return;
    Stmt undo(c, "DELETE FROM runs WHERE id = :id");  // the run goes with its delivery
    undo.Text(":id", w.run->id).Run();
    log::Warn("webhook journal: a delivery was left out", {{"run_id", w.run->id}, {"error", e.what()}});
  }
}

}  // namespace

// ---- the store's state --------------------------------------------------------

struct SqliteStore::Impl {
  explicit Impl(const SqliteOptions& o) : options(o), clock(o.clock ? o.clock : &system_clock) {}
  ~Impl() {
    StopImporter();  // imports what the journal still holds, through the writer
    StopCheckpointer();
    // Readers first: the writer closes last, checkpointing and removing the WAL.
    readers.clear();
    writer.reset();
    if (lock_fd >= 0) close(lock_fd);  // releases the flock
  }

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
    using R = decltype(f(std::declval<Conn&>()));
    std::optional<R> out;
    WriteTask task;
    task.guarded = guarded;
    task.body = [&](Conn& c) {
      out.emplace(Guard([&]() -> R { return f(c); }));
      task.wrote = out->has_value();
    };
    task.abort = [&](const Error& e) { out.emplace(Fail(e)); };
    RunWrite(task);
    return std::move(*out);
  }

  struct WriteTask {
    std::function<void(Conn&)> body;          // runs the write, sets the caller's result
    std::function<void(const Error&)> abort;  // its commit failed: replaces the result
    bool wrote = false;                       // body succeeded
    bool done = false;                        // committed, or failed for good
    bool guarded = true;                      // false: WriteUnguarded
    bool background = ThreadWritePriority() == WritePriority::kBackground;
    std::chrono::steady_clock::time_point queued_at = std::chrono::steady_clock::now();
  };

  static constexpr size_t kSmallBatch = 4;  // RunWrite: fewer waiting writes than this, yield once
  // Background writes (core/store.h: the engine's claims and step results)
  // make way for the others. While kSaturated or more normal writes wait,
  // the writer is the bottleneck, and background writes younger than
  // kMaxDefer wait for a later commit: a webhook burst is taken in at the
  // writer's full speed and run right after, and kMaxDefer keeps runs moving
  // under sustained load.
  static constexpr size_t kSaturated = 4;
  static constexpr auto kMaxDefer = std::chrono::milliseconds(100);

  void RunWrite(WriteTask& task) {
    std::unique_lock lock(queue_mu);
    queue.push_back(&task);
    if (!task.background) ++normal_queued;
    while (!task.done) {
      if (leading) {
        done_cv.wait(lock);
        continue;
      }
      leading = true;
      if (queue.size() < kSmallBatch) {
        // Let the threads that are about to write (runnable, but not yet
        // queued: on 2 busy cores they wait for a CPU) join this commit
        // first. One yield took the commit from 2.6 to 9.9 writes on average
        // under webhook load, and each commit writes its dirty pages to the
        // WAL once (docs/benchmarks.md, webhooks 2026-11-29).
        lock.unlock();
        std::this_thread::yield();
        lock.lock();
      }
      std::vector<WriteTask*> batch = TakeBatch();
      lock.unlock();
      try {
        // One sample per transaction (a group commit is one), not per caller.
        metrics::ScopedTimer timer(metrics::Weft().store_write);
        RunBatch(batch);
      } catch (...) {  // out of memory around BEGIN/COMMIT: fail the lot, stay usable
        if (!sqlite3_get_autocommit(writer->db())) {
          sqlite3_exec(writer->db(), "ROLLBACK", nullptr, nullptr, nullptr);
        }
        for (auto* t : batch) t->abort(Error(ErrorCode::kInternal, "store: write failed"));
      }
      lock.lock();
      for (auto* t : batch) t->done = true;
      leading = false;
      done_cv.notify_all();
    }
  }

  // The waiting writes the next commit runs (queue_mu held): all of them,
  // unless the writer is saturated (see kSaturated).
  std::vector<WriteTask*> TakeBatch() {
    std::vector<WriteTask*> batch;
    size_t normal = normal_queued;
    normal_queued = 0;
    if (normal < kSaturated || normal == queue.size()) {
      batch.swap(queue);
      return batch;
    }
    auto defer_since = std::chrono::steady_clock::now() - kMaxDefer;
    std::vector<WriteTask*> later;
    for (auto* t : queue) {
      if (t->background && t->queued_at > defer_since) later.push_back(t);
      else batch.push_back(t);
    }
    queue.swap(later);
    return batch;
  }

  void RunBatch(const std::vector<WriteTask*>& batch) {
    Conn& c = *writer;
    if (batch.size() == 1) {
      batch[0]->body(c);
      return;
    }
    try {
      Stmt(c, "BEGIN IMMEDIATE").Run();
    } catch (const SqlError&) {
      for (auto* t : batch) t->body(c);  // each on its own then
      return;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      sqlite3_int64 changes = sqlite3_total_changes64(c.db());
      batch[i]->body(c);
      std::string why;
      if (!batch[i]->guarded && !batch[i]->wrote && !sqlite3_get_autocommit(c.db()) &&
          sqlite3_total_changes64(c.db()) != changes) {
        // An unguarded write failed after a change: undo the whole commit
        // rather than keep half of it.
        why = "another write in its commit failed halfway";
        sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
      }
      if (sqlite3_get_autocommit(c.db())) {
        // SQLite rolled the whole transaction back (I/O error, disk full), or
        // we did: the writes before this one are gone; the rest go one by one.
        if (why.empty()) why = sqlite3_errmsg(c.db());
        Error lost(ErrorCode::kUnavailable, "write rolled back: " + why);
        for (size_t j = 0; j < i; ++j) {
          if (batch[j]->wrote) batch[j]->abort(lost);
        }
        for (size_t j = i + 1; j < batch.size(); ++j) batch[j]->body(c);
        return;
      }
    }
    try {
      Stmt(c, "COMMIT").Run();
    } catch (const SqlError& e) {
      sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
      Error failed(CodeFor(e.code), std::string("commit failed: ") + e.what());
      for (auto* t : batch) {
        if (t->wrote) t->abort(failed);
      }
    }
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
    CatchUp();
    return Read(std::forward<F>(f));
  }

  SqliteOptions options;
  SystemClock system_clock;
  const Clock* clock;
  std::string db_path;
  int lock_fd = -1;
  int schema_version = 0;

  std::unique_ptr<Conn> writer;  // used by the current leader alone
  std::mutex queue_mu;
  std::condition_variable done_cv;
  std::vector<WriteTask*> queue;  // writes waiting for a leader
  bool leading = false;           // a leader is running a batch
  size_t normal_queued = 0;       // writes in queue that are not background

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

  static int OnWalCommit(void* arg, sqlite3* db, const char* name, int pages) {
    auto* impl = static_cast<Impl*>(arg);
    if (pages < impl->checkpoint_asked_at) impl->checkpoint_asked_at = 0;  // the WAL started over
    if (pages >= kWriterCheckpointPages) {
      sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages - impl->checkpoint_asked_at >= kCheckpointPages) {
      impl->checkpoint_asked_at = pages;  // once per 1,000 new pages, not on every commit
      {
        std::lock_guard lock(impl->checkpoint_mu);
        impl->checkpoint_wanted = true;
      }
      impl->checkpoint_cv.notify_one();
    }
    return SQLITE_OK;
  }

  void StartCheckpointer(std::unique_ptr<Conn> conn) {
    checkpoint_conn = std::move(conn);
    sqlite3_wal_hook(writer->db(), &Impl::OnWalCommit, this);  // replaces the automatic checkpoint
    checkpointer = std::thread([this] {
      std::unique_lock lock(checkpoint_mu);
      for (;;) {
        checkpoint_cv.wait(lock, [this] { return checkpoint_wanted || checkpoint_stop; });
        if (checkpoint_stop) return;
        checkpoint_wanted = false;
        lock.unlock();
        sqlite3_wal_checkpoint_v2(checkpoint_conn->db(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        lock.lock();
      }
    });
  }

  // ---- the webhook journal (store/sqlite/webhook_journal.h) ----
  // RecordWebhook appends a request's run and delivery to the journal and
  // answers; the import thread takes every record appended so far into the
  // database in one write (a few thousand at a time under load), with the
  // journal's (generation, offset) in the same transaction. A read of runs or
  // deliveries first waits until what was appended before it is imported
  // (CatchUp), so the API never misses an accepted webhook. Measured in
  // docs/benchmarks.md: one SQLite transaction per request, even grouped, cost
  // four times the CPU of the rest of the request.
  static constexpr size_t kImportBytes = 4 << 20;      // journal bytes per import transaction
  static constexpr uint64_t kRestartBytes = 4 << 20;   // start the file over past this, once caught up
  std::unique_ptr<sqlite::WebhookJournal> journal;
  bool journal_appends = false;           // RecordWebhook appends (else: the direct write)
  uint64_t import_offset = 0;             // the import thread's, and Open's
  std::atomic<uint64_t> appended{0};      // records appended by this process
  std::atomic<uint64_t> imported{0};      // of those, imported (grows under import_mu)
  std::atomic<bool> importer_sleeping{false};
  std::mutex import_mu;
  std::condition_variable import_cv;      // wakes the import thread
  std::condition_variable imported_cv;    // wakes CatchUp
  bool import_stop = false;
  bool import_urgent = false;              // a CatchUp waits (import_mu)
  static constexpr auto kGather = std::chrono::milliseconds(2);
  std::thread importer;
  std::mutex listener_mu;
  std::function<void()> on_imported;

  // Takes the journal's next records into the database; how many (0: none).
  Result<size_t> ImportSome() {
    auto chunk = journal->Read(import_offset, kImportBytes);
    if (!chunk) return Fail(chunk.error());
    if (chunk->records.empty()) return size_t{0};
    const uint64_t generation = journal->generation();
    // Unguarded: a record that cannot go in is skipped statement by
    // statement; an I/O error rolls the whole commit back, and the records
    // stay in the journal for the next try.
    auto written = WriteUnguarded([&](Conn& c) -> Result<void> {
      WriteTxn txn(c, WriteTxn::kNoSavepoint);
      for (std::string_view record : chunk->records) ImportWebhookRecord(c, record);
      Stmt s(c,
             "INSERT INTO webhook_journal (id, generation, imported_to) VALUES (1, :generation, :to) "
             "ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, imported_to = excluded.imported_to");
      s.Int(":generation", static_cast<int64_t>(generation)).Int(":to", static_cast<int64_t>(chunk->next)).Run();
      txn.Commit();
      return Ok();
    });
    if (!written) return Fail(written.error());
    import_offset = chunk->next;
    if (import_offset >= kRestartBytes) {
      if (auto restarted = journal->Restart(import_offset); restarted && *restarted) {
        import_offset = sqlite::WebhookJournal::kHeaderSize;
      } else {
        journal->Release(import_offset);  // under steady load it never catches up to restart
      }
    }
    return chunk->records.size();
  }

  // Open: where the import got to, from the database; a journal of the next
  // generation, or shorter than that (started over after a full import, with
  // a crash before the next import was recorded), holds nothing imported yet.
  // False when the journal is not this database's: one that has started over
  // (generation past 1) for a database that never imported (a weft.db
  // deleted or replaced beside it), or one generations away (a restored
  // copy). Its imported part may be released (holes), where a read from its
  // start would stop and cut off the rest.
  bool LoadImportOffset() {
    import_offset = sqlite::WebhookJournal::kHeaderSize;
    const uint64_t file_generation = journal->generation();
    Stmt s(*writer, "SELECT generation, imported_to FROM webhook_journal WHERE id = 1");
    if (!s.Step()) return file_generation == 1;
    auto generation = static_cast<uint64_t>(s.ColInt(0));
    auto to = static_cast<uint64_t>(s.ColInt(1));
    if (file_generation == generation) {
      if (to >= sqlite::WebhookJournal::kHeaderSize && to <= journal->end()) import_offset = to;
      return true;
    }
    return file_generation == generation + 1;
  }

  void StartImporter() {
    importer = std::thread([this] {
      for (;;) {
        {
          std::unique_lock lock(import_mu);
          while (appended.load() <= imported.load()) {
            if (import_stop) return;
            importer_sleeping.store(true);
            if (appended.load() > imported.load()) {
              importer_sleeping.store(false);
              break;
            }
            import_cv.wait_for(lock, std::chrono::seconds(1));
            importer_sleeping.store(false);
            // Woken by the first record after a pause: let more come, so a
            // steady stream is imported a few hundred at a time, not each in
            // a transaction of its own. A read waiting for it cuts this short.
            if (appended.load() > imported.load()) {
              import_cv.wait_for(lock, kGather, [&] { return import_urgent || import_stop; });
            }
          }
          import_urgent = false;
        }
        auto n = ImportSome();
        if (!n) {
          log::Warn("webhook journal: import failed, retrying", {{"error", n.error().message}});
          std::unique_lock lock(import_mu);
          if (import_stop) return;  // the records wait in the journal for the next start
          import_cv.wait_for(lock, std::chrono::milliseconds(100));
          continue;
        }
        if (*n == 0) {
          // A record is counted just after its write, so the import can be
          // ahead of the count for a moment; wait for the count to follow.
          std::unique_lock lock(import_mu);
          import_cv.wait_for(lock, std::chrono::milliseconds(1));
          continue;
        }
        {
          std::lock_guard lock(import_mu);
          imported.fetch_add(*n);
        }
        imported_cv.notify_all();
        std::function<void()> listener;
        {
          std::lock_guard lock(listener_mu);
          listener = on_imported;
        }
        if (listener) listener();
      }
    });
  }

  void StopImporter() {
    if (!importer.joinable()) return;
    {
      std::lock_guard lock(import_mu);
      import_stop = true;
    }
    import_cv.notify_all();
    importer.join();
    imported_cv.notify_all();
  }

  // Appends a webhook's rows to the journal; durable when this returns.
  Result<void> Journal(const WebhookRows& rows) {
    if (auto put = journal->Append(EncodeWebhook(rows)); !put) return put;
    appended.fetch_add(1);
    if (importer_sleeping.load()) {
      std::lock_guard lock(import_mu);
      import_cv.notify_one();
    }
    return Ok();
  }

  // Waits until every webhook the journal took in before this call is in the
  // database (a read's view then holds them). Bounded: should the import be
  // failing (a full disk), the read goes on with what is there.
  void CatchUp() {
    if (!journal_appends) return;
    uint64_t target = appended.load();
    if (imported.load() >= target) return;
    std::unique_lock lock(import_mu);
    import_urgent = true;
    import_cv.notify_one();
    imported_cv.wait_for(lock, std::chrono::seconds(10),
                         [&] { return imported.load() >= target || import_stop; });
  }

  void StopCheckpointer() {
    if (!checkpointer.joinable()) return;
    {
      std::lock_guard lock(checkpoint_mu);
      checkpoint_stop = true;
    }
    checkpoint_cv.notify_all();
    checkpointer.join();
    sqlite3_wal_hook(writer->db(), nullptr, nullptr);
    sqlite3_wal_autocheckpoint(writer->db(), kCheckpointPages);
    checkpoint_conn.reset();
  }
};

namespace {

void Configure(Conn& c, const SqliteOptions& o, bool writer) {
  c.Exec("PRAGMA busy_timeout = " + std::to_string(o.busy_timeout.count()));
  c.Exec("PRAGMA foreign_keys = ON");
  c.Exec(std::string("PRAGMA synchronous = ") +
         (o.synchronous == SqliteOptions::Synchronous::kFull ? "FULL" : "NORMAL"));
  c.Exec("PRAGMA temp_store = MEMORY");
  if (writer) {
    // A larger lookaside (SQLite's per-connection small-allocation arena;
    // the default is 100 slots of 1,200 bytes): a run's insert with its
    // indexes otherwise goes to malloc for much of its working memory.
    sqlite3_db_config(c.db(), SQLITE_DBCONFIG_LOOKASIDE, nullptr, 1200, 1000);
    // Takes effect only in a new, empty database: lets retention give pages
    // back with PRAGMA incremental_vacuum instead of a full VACUUM.
    c.Exec("PRAGMA auto_vacuum = INCREMENTAL");
    // Cut the WAL back after a checkpoint, so a burst does not leave it large.
    c.Exec("PRAGMA journal_size_limit = 67108864");
    // A larger page cache for the one writer (SQLite's default is 2 MB): a
    // large write transaction (the scheduler's batch of ~1,700 fires due at
    // one second dirties ~8,000 pages) otherwise spills pages to the WAL
    // before its commit, and every statement re-reads its pages from the OS.
    // Grows only as pages are used.
    c.Exec("PRAGMA cache_size = -32768");
    Stmt s(c, "PRAGMA journal_mode = WAL");
    std::string mode = s.Step() ? s.ColText(0) : "";
    if (mode != "wal") {
      throw SqlError(SQLITE_CANTOPEN, "cannot put the database in WAL mode (got \"" + mode +
                                          "\"); is the data dir on a network file system?");
    }
  } else {
    c.Exec("PRAGMA query_only = ON");
  }
}

// Applies the migrations newer than the database's schema; returns the version.
Result<int> Migrate(Conn& c, const std::string& data_dir) {
  c.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  int current = 0;
  {
    Stmt s(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (s.Step()) current = static_cast<int>(s.ColInt(0));
  }
  auto migrations = sqlite::Migrations();
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return Fail(ErrorCode::kUnavailable, "data dir " + data_dir + " has schema version " +
                                             std::to_string(current) +
                                             ", newer than this weft knows (" +
                                             std::to_string(latest) + "); run a newer weft");
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    WriteTxn txn(c);
    c.Exec(m.sql);
    Stmt s(c,
           "INSERT INTO schema_migrations (version, name, applied_at) "
           "VALUES (:version, :name, :applied_at)");
    s.Int(":version", m.version).Text(":name", m.name).Time(":applied_at", SystemClock().Now());
    s.Run();
    txn.Commit();
    current = m.version;
  }
  return current;
}

// Locks <data_dir>/LOCK for this process; the kernel drops the lock when the
// process dies, so a crash never leaves the data dir locked.
Result<int> LockDataDir(const std::string& data_dir) {
  std::string path = data_dir + "/LOCK";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable, "cannot open " + path + ": " + std::strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return Fail(ErrorCode::kUnavailable,
                  "data dir " + data_dir + " is in use by another weft process");
    }
    return Fail(ErrorCode::kUnavailable, "cannot lock " + path + ": " + std::strerror(err));
  }
  // The holder's pid, for a person wondering who holds it.
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t n = pwrite(fd, pid.data(), pid.size(), 0);
  }
  return fd;
}

}  // namespace

// ---- opening and closing --------------------------------------------------------

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  return Guard([&]() -> Result<std::unique_ptr<SqliteStore>> {
    auto impl = std::make_unique<Impl>(options);
    const std::string& dir = options.data_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return Fail(ErrorCode::kUnavailable, "cannot create data dir " + dir + ": " + ec.message());
    }
    auto fd = LockDataDir(dir);
    if (!fd) return Fail(std::move(fd).error());
    impl->lock_fd = *fd;
    impl->db_path = dir + "/weft.db";

    impl->writer = Conn::Open(impl->db_path, /*create=*/true);
    Configure(*impl->writer, options, /*writer=*/true);
    auto version = Migrate(*impl->writer, dir);
    if (!version) return Fail(std::move(version).error());
    impl->schema_version = *version;

    // This process alone uses the file, so every claim left is a dead process's.
    Stmt release(*impl->writer, std::string("UPDATE runs SET claimed_by = '', lease_until = NULL "
                                            "WHERE ") +
                                    kUnfinished + " AND claimed_by <> ''");
    release.Run();

    // Webhooks a previous process took into its journal and had not yet
    // imported go in now, before anything reads the store.
    const std::string journal_path = dir + "/webhooks.journal";
    auto journal = sqlite::WebhookJournal::Open(journal_path);
    if (!journal) return Fail(std::move(journal).error());
    impl->journal = std::move(*journal);
    if (!impl->LoadImportOffset()) {
      // Not this database's journal: set aside, untouched, for a person to
      // look at, and start a new one.
      std::string aside = journal_path + ".set-aside-" + std::to_string(ToUnixMs(SystemClock().Now()));
      impl->journal.reset();
      std::error_code ec;
      std::filesystem::rename(journal_path, aside, ec);
      if (ec) return Fail(ErrorCode::kUnavailable, "cannot move " + journal_path + " aside: " + ec.message());
      log::Warn("webhook journal: " + journal_path + " does not belong to this database; set aside",
                {{"path", aside}});
      journal = sqlite::WebhookJournal::Open(journal_path);
      if (!journal) return Fail(std::move(journal).error());
      impl->journal = std::move(*journal);
      impl->import_offset = sqlite::WebhookJournal::kHeaderSize;
    }
    if (auto recovered = impl->journal->Recover(impl->import_offset); !recovered) return Fail(recovered.error());
    for (;;) {
      auto n = impl->ImportSome();
      if (!n) return Fail(ErrorCode::kUnavailable, "cannot import " + impl->journal->path() + ": " + n.error().message);
      if (*n == 0) break;
    }
    if (impl->import_offset != sqlite::WebhookJournal::kHeaderSize) {
      if (auto restarted = impl->journal->Restart(impl->import_offset); !restarted) return Fail(restarted.error());
      impl->import_offset = sqlite::WebhookJournal::kHeaderSize;
    }
    impl->journal_appends =
        options.webhook_journal && options.synchronous != SqliteOptions::Synchronous::kFull;

    for (int i = 0; i < std::max(1, options.readers); ++i) {
      auto reader = Conn::Open(impl->db_path, /*create=*/false);
      Configure(*reader, options, /*writer=*/false);
      impl->idle.push_back(reader.get());
      impl->readers.push_back(std::move(reader));
    }
    auto checkpoint_conn = Conn::Open(impl->db_path, /*create=*/false);
    checkpoint_conn->Exec(std::string("PRAGMA synchronous = ") +
                          (options.synchronous == SqliteOptions::Synchronous::kFull ? "FULL" : "NORMAL"));
    impl->StartCheckpointer(std::move(checkpoint_conn));
    if (impl->journal_appends) impl->StartImporter();
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
  });
}

void SqliteStore::SetRunsImportedListener(std::function<void()> listener) {
  std::lock_guard lock(impl_->listener_mu);
  impl_->on_imported = std::move(listener);
}

const std::string& SqliteStore::db_path() const { return impl_->db_path; }
int SqliteStore::schema_version() const { return impl_->schema_version; }

Result<void> SqliteStore::Backup(const std::string& dest_path) {
  impl_->CatchUp();  // a webhook accepted before this is in the database
  return Guard([&]() -> Result<void> {
    std::string tmp = dest_path + ".tmp-" + NewId(ToUnixMs(SystemClock().Now()));
    auto source = Conn::Open(impl_->db_path, /*create=*/false);
    source->Exec("PRAGMA busy_timeout = " + std::to_string(impl_->options.busy_timeout.count()));
    int rc;
    {
      auto dest = Conn::Open(tmp, /*create=*/true);
      sqlite3_backup* backup = sqlite3_backup_init(dest->db(), "main", source->db(), "main");
      if (!backup) dest->Throw(sqlite3_errcode(dest->db()));
      // All pages in one step: one read snapshot, so writers never restart it
      // (in WAL mode they go on committing meanwhile).
      rc = sqlite3_backup_step(backup, -1);
      sqlite3_backup_finish(backup);
    }
    std::error_code ec;
    if (rc != SQLITE_DONE) {
      std::filesystem::remove(tmp, ec);
      return Fail(CodeFor(rc), std::string("backup failed: ") + sqlite3_errstr(rc));
    }
    std::filesystem::rename(tmp, dest_path, ec);
    if (ec) {
      std::filesystem::remove(tmp, ec);
      return Fail(ErrorCode::kUnavailable, "cannot write " + dest_path + ": " + ec.message());
    }
    return Ok();
  });
}

namespace {

// A raw read-only handle: Conn opens read-write, and a backup's source is
// only ever read (a read-only connection never checkpoints or rewrites it).
struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
std::unique_ptr<sqlite3, CloseDb> OpenReadOnly(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, CloseDb> out(db);
  if (rc != SQLITE_OK) {
    throw SqlError(rc, "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db, 5000);
  return out;
}

Result<SqliteStore::FileInfo> Inspect(Conn& c, const std::string& path) {
  {
    Stmt s(c, "PRAGMA quick_check");
    std::string verdict = s.Step() ? s.ColText(0) : "";
    if (verdict != "ok") return Fail(ErrorCode::kValidation, path + " is damaged: " + verdict);
  }
  {
    Stmt s(c, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('schema_migrations', 'flows', 'runs')");
    if (!s.Step() || s.ColInt(0) != 3) return Fail(ErrorCode::kValidation, path + " is not a weft database");
  }
  SqliteStore::FileInfo info;
  {
    Stmt s(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (s.Step()) info.schema_version = static_cast<int>(s.ColInt(0));
  }
  auto migrations = sqlite::Migrations();
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (info.schema_version > latest) {
    return Fail(ErrorCode::kValidation, path + " has schema version " + std::to_string(info.schema_version) +
                                            ", newer than this weft knows (" + std::to_string(latest) + ")");
  }
  {
    Stmt s(c, "SELECT (SELECT COUNT(*) FROM flows), (SELECT COUNT(*) FROM runs)");
    if (s.Step()) {
      info.flows = s.ColInt(0);
      info.runs = s.ColInt(1);
    }
  }
  std::error_code ec;
  info.bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  return info;
}

}  // namespace

Result<SqliteStore::FileInfo> SqliteStore::BackupDataDir(const std::string& data_dir, const std::string& dest_path) {
  return Guard([&]() -> Result<FileInfo> {
    std::string db_path = data_dir + "/weft.db";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(db_path, ec)) {
      return Fail(ErrorCode::kNotFound, "no weft database at " + db_path);
    }
    std::string tmp = dest_path + ".tmp-" + NewId(ToUnixMs(SystemClock().Now()));
    auto source = OpenReadOnly(db_path);
    int rc;
    {
      auto dest = Conn::Open(tmp, /*create=*/true);
      sqlite3_backup* backup = sqlite3_backup_init(dest->db(), "main", source.get(), "main");
      if (!backup) dest->Throw(sqlite3_errcode(dest->db()));
      // All pages in one step: one read snapshot of the committed state.
      rc = sqlite3_backup_step(backup, -1);
      sqlite3_backup_finish(backup);
    }
    if (rc != SQLITE_DONE) {
      std::filesystem::remove(tmp, ec);
      return Fail(CodeFor(rc), std::string("backup failed: ") + sqlite3_errstr(rc));
    }
    Result<FileInfo> info = [&]() -> Result<FileInfo> {
      auto copy = Conn::Open(tmp, /*create=*/false);
      return Inspect(*copy, tmp);
    }();
    if (!info) {
      std::filesystem::remove(tmp, ec);
      return Fail(info.error());
    }
    std::filesystem::rename(tmp, dest_path, ec);
    if (ec) {
      std::filesystem::remove(tmp, ec);
      return Fail(ErrorCode::kUnavailable, "cannot write " + dest_path + ": " + ec.message());
    }
    return info;
  });
}

Result<SqliteStore::FileInfo> SqliteStore::InspectFile(const std::string& path) {
  return Guard([&]() -> Result<FileInfo> {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return Fail(ErrorCode::kNotFound, "no file at " + path);
    auto c = Conn::Open(path, /*create=*/false);
    c->Exec("PRAGMA query_only = ON");
    return Inspect(*c, path);
  });
}

// ---- flows ------------------------------------------------------------------------

Result<Flow> SqliteStore::CreateFlow(const FlowWrite& write, const std::string& webhook_token) {
  return impl_->Write([&](Conn& c) -> Result<Flow> {
    WriteTxn txn(c);
    if (FlowTaken(c, "name", write.name, "")) return NameTaken("flow", write.name);
    if (!webhook_token.empty() && FlowTaken(c, "webhook_token", webhook_token, "")) {
      return TokenTaken();
    }
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
    {
      Stmt s(c, "INSERT INTO flows (" FLOW_BASE_COLS
                ") VALUES (:id, :name, :description, 1, :document, 0, :trigger_type, "
                ":webhook_token, :now, :now, :actor)");
      s.Text(":id", f.id)
          .Text(":name", f.name)
          .Text(":description", f.description)
          .Text(":document", document)
          .Text(":trigger_type", f.trigger_type)
          .Time(":now", f.created_at)
          .Text(":actor", f.updated_by);
      if (webhook_token.empty()) {
        s.Null(":webhook_token");
      } else {
        s.Text(":webhook_token", webhook_token);
      }
      s.Run();
    }
    InsertVersion(c, f, document);
    txn.Commit();
    return f;
  });
}

Result<Flow> SqliteStore::GetFlow(const std::string& id) {
  return impl_->Read([&](Conn& c) -> Result<Flow> {
    auto f = FindFlow(c, "id", id);
    if (!f) return NotFound("flow " + id);
    return std::move(*f);
  });
}

Result<Flow> SqliteStore::GetFlowByName(const std::string& name) {
  return impl_->Read([&](Conn& c) -> Result<Flow> {
    auto f = FindFlow(c, "name", name);
    if (!f) return NotFound("flow named \"" + name + "\"");
    return std::move(*f);
  });
}

Result<Flow> SqliteStore::GetFlowByWebhookToken(const std::string& token) {
  return impl_->Read([&](Conn& c) -> Result<Flow> {
    std::optional<Flow> f;
    if (!token.empty()) f = FindFlow(c, "webhook_token", token);
    // The message never carries the token: it is a secret.
    if (!f) return NotFound("flow for webhook token " + RedactToken(token));
    return std::move(*f);
  });
}

Result<std::vector<Flow>> SqliteStore::ListFlows() {
  return impl_->Read([&](Conn& c) -> Result<std::vector<Flow>> {
    Stmt s(c, "SELECT " FLOW_COLS " FROM flows ORDER BY name, id");
    std::vector<Flow> flows;
    while (s.Step()) flows.push_back(ReadFlow(s));
    return flows;
  });
}

Result<Flow> SqliteStore::SaveFlow(const std::string& id, const FlowWrite& write,
                                   std::optional<int> base_version,
                                   const std::string& webhook_token) {
  return impl_->Write([&](Conn& c) -> Result<Flow> {
    WriteTxn txn(c);
    auto current = FindFlow(c, "id", id);
    if (!current) return NotFound("flow " + id);
    Flow f = std::move(*current);
    if (base_version && *base_version != f.version) {
      return Fail(ErrorCode::kVersionConflict,
                  "flow " + id + " is at version " + std::to_string(f.version) +
                      ", not base_version " + std::to_string(*base_version));
    }
    std::string document = DumpJson(write.document);
    if (document == DumpJson(f.document)) return f;  // identical: no new version
    if (write.name != f.name && FlowTaken(c, "name", write.name, id)) {
      return NameTaken("flow", write.name);
    }
    if (f.webhook_token.empty() && !webhook_token.empty()) {
      if (FlowTaken(c, "webhook_token", webhook_token, id)) return TokenTaken();
      f.webhook_token = webhook_token;
    }
    f.name = write.name;
    f.description = write.description;
    f.version += 1;
    f.document = write.document;
    f.trigger_type = write.trigger_type;
    f.updated_at = impl_->Now();
    f.updated_by = write.actor;
    {
      Stmt s(c,
             "UPDATE flows SET name = :name, description = :description, version = :version, "
             "document = :document, trigger_type = :trigger_type, "
             "webhook_token = :webhook_token, updated_at = :updated_at, "
             "updated_by = :updated_by WHERE id = :id");
      s.Text(":name", f.name)
          .Text(":description", f.description)
          .Int(":version", f.version)
          .Text(":document", document)
          .Text(":trigger_type", f.trigger_type)
          .Time(":updated_at", f.updated_at)
          .Text(":updated_by", f.updated_by)
          .Text(":id", f.id);
      if (f.webhook_token.empty()) {
        s.Null(":webhook_token");
      } else {
        s.Text(":webhook_token", f.webhook_token);
      }
      s.Run();
    }
    InsertVersion(c, f, document);
    txn.Commit();
    return f;
  });
}

Result<void> SqliteStore::DeleteFlow(const std::string& id) {
  impl_->CatchUp();  // a webhook accepted before this is in the database
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM flows WHERE id = :id");  // versions go by ON DELETE CASCADE
    s.Text(":id", id).Run();
    if (c.Changes() == 0) return NotFound("flow " + id);
    return Ok();
  });
}

Result<Flow> SqliteStore::SetFlowActive(const std::string& id, bool active) {
  return impl_->Write([&](Conn& c) -> Result<Flow> {
    Stmt s(c, "UPDATE flows SET active = :active WHERE id = :id RETURNING " FLOW_COLS);
    s.Int(":active", active ? 1 : 0).Text(":id", id);
    auto f = One(s, ReadFlow);
    if (!f) return NotFound("flow " + id);
    return std::move(*f);
  });
}

Result<Flow> SqliteStore::SetWebhookToken(const std::string& id, const std::string& token) {
  return impl_->Write([&](Conn& c) -> Result<Flow> {
    if (!token.empty() && FlowTaken(c, "webhook_token", token, id)) return TokenTaken();
    Stmt s(c, "UPDATE flows SET webhook_token = :token WHERE id = :id RETURNING " FLOW_COLS);
    s.Text(":id", id);
    if (token.empty()) {
      s.Null(":token");
    } else {
      s.Text(":token", token);
    }
    auto f = One(s, ReadFlow);
    if (!f) return NotFound("flow " + id);
    return std::move(*f);
  });
}

Result<FlowVersion> SqliteStore::GetFlowVersion(const std::string& id, int version) {
  return impl_->Read([&](Conn& c) -> Result<FlowVersion> {
    Stmt s(c,
           "SELECT " VERSION_COLS " FROM flow_versions WHERE flow_id = :id AND version = :version");
    s.Text(":id", id).Int(":version", version);
    auto v = One(s, ReadVersion);
    if (!v) return NotFound("flow " + id + " version " + std::to_string(version));
    return std::move(*v);
  });
}

Result<std::vector<FlowVersion>> SqliteStore::ListFlowVersions(const std::string& id) {
  return impl_->Read([&](Conn& c) -> Result<std::vector<FlowVersion>> {
    ReadTxn txn(c);
    {
      Stmt s(c, "SELECT 1 FROM flows WHERE id = :id");
      if (!s.Text(":id", id).Step()) return NotFound("flow " + id);
    }
    Stmt s(c,
           "SELECT " VERSION_COLS " FROM flow_versions WHERE flow_id = :id ORDER BY version DESC");
    s.Text(":id", id);
    std::vector<FlowVersion> versions;
    while (s.Step()) versions.push_back(ReadVersion(s));
    return versions;
  });
}

Result<std::vector<std::pair<std::string, RunSummary>>> SqliteStore::LastRuns() {
  return impl_->ReadRuns([&](Conn& c) -> Result<std::vector<std::pair<std::string, RunSummary>>> {
    Stmt s(c,
           "SELECT f.id, r.id, r.status, r.finished_at FROM flows f JOIN runs r ON r.id = "
           "(SELECT id FROM runs WHERE flow_id = f.id ORDER BY created_at DESC, id DESC LIMIT 1) "
           "ORDER BY f.id");
    std::vector<std::pair<std::string, RunSummary>> out;
    while (s.Step()) {
      RunSummary r;
      r.id = s.ColText(1);
      r.status = ReadRunStatus(s, 2);
      r.finished_at = s.ColOptTime(3);
      out.emplace_back(s.ColText(0), std::move(r));
    }
    return out;
  });
}

// ---- connections ----------------------------------------------------------------

namespace {

bool ConnectionNameTaken(Conn& c, const std::string& name, const std::string& except_id) {
  Stmt s(c, "SELECT 1 FROM connections WHERE name = :name AND id <> :id");
  return s.Text(":name", name).Text(":id", except_id).Step();
}

void BindConnection(Stmt& s, const Connection& c) {
  s.Text(":id", c.id)
      .Text(":name", c.name)
      .Text(":connector", c.connector)
      .Text(":settings", DumpJson(c.settings))
      .Text(":auth", DumpJson(c.auth))
      .Int(":active", c.active ? 1 : 0)
      .Time(":updated_at", c.updated_at)
      .Text(":updated_by", c.updated_by);
}

}  // namespace

Result<Connection> SqliteStore::CreateConnection(const Connection& in) {
  return impl_->Write([&](Conn& c) -> Result<Connection> {
    if (ConnectionNameTaken(c, in.name, "")) return NameTaken("connection", in.name);
    Connection conn = in;
    TimePoint now = impl_->Now();
    if (conn.created_at == TimePoint{}) conn.created_at = now;
    if (conn.updated_at == TimePoint{}) conn.updated_at = conn.created_at;
    if (conn.id.empty()) conn.id = NewId(ToUnixMs(conn.created_at));
    Stmt s(c, "INSERT INTO connections (" CONNECTION_COLS
              ") VALUES (:id, :name, :connector, :settings, :auth, :active, :created_at, "
              ":updated_at, :updated_by)");
    BindConnection(s, conn);
    s.Time(":created_at", conn.created_at);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if (IsConstraint(e, SQLITE_CONSTRAINT_PRIMARYKEY)) {
        return Fail(ErrorCode::kConflict, "connection " + conn.id + " already exists");
      }
      throw;
    }
    return conn;
  });
}

Result<Connection> SqliteStore::GetConnection(const std::string& id) {
  return impl_->Read([&](Conn& c) -> Result<Connection> {
    Stmt s(c, "SELECT " CONNECTION_COLS " FROM connections WHERE id = :id");
    s.Text(":id", id);
    auto conn = One(s, ReadConnection);
    if (!conn) return NotFound("connection " + id);
    return std::move(*conn);
  });
}

Result<Connection> SqliteStore::GetConnectionByName(const std::string& name) {
  return impl_->Read([&](Conn& c) -> Result<Connection> {
    Stmt s(c, "SELECT " CONNECTION_COLS " FROM connections WHERE name = :name");
    s.Text(":name", name);
    auto conn = One(s, ReadConnection);
    if (!conn) return NotFound("connection named \"" + name + "\"");
    return std::move(*conn);
  });
}

Result<std::vector<Connection>> SqliteStore::ListConnections() {
  return impl_->Read([&](Conn& c) -> Result<std::vector<Connection>> {
    Stmt s(c, "SELECT " CONNECTION_COLS " FROM connections ORDER BY name, id");
    std::vector<Connection> out;
    while (s.Step()) out.push_back(ReadConnection(s));
    return out;
  });
}

Result<Connection> SqliteStore::UpdateConnection(const Connection& in) {
  return impl_->Write([&](Conn& c) -> Result<Connection> {
    if (ConnectionNameTaken(c, in.name, in.id)) return NameTaken("connection", in.name);
    Connection conn = in;
    conn.updated_at = impl_->Now();
    Stmt s(c,
           "UPDATE connections SET name = :name, connector = :connector, settings = :settings, "
           "auth = :auth, active = :active, updated_at = :updated_at, updated_by = :updated_by "
           "WHERE id = :id RETURNING " CONNECTION_COLS);
    BindConnection(s, conn);
    auto stored = One(s, ReadConnection);
    if (!stored) return NotFound("connection " + in.id);
    return std::move(*stored);
  });
}

Result<void> SqliteStore::DeleteConnection(const std::string& id) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM connections WHERE id = :id");
    s.Text(":id", id).Run();
    if (c.Changes() == 0) return NotFound("connection " + id);
    return Ok();
  });
}

// ---- runs ----------------------------------------------------------------------------

namespace {

// Inserts `run` (and the steps given with it); kConflict when the id exists.
Result<Run> InsertRun(Conn& c, Run run, TimePoint now) {
  if (run.created_at == TimePoint{}) run.created_at = now;
  if (run.id.empty()) run.id = NewId(ToUnixMs(run.created_at));
  for (auto& st : run.steps) st.run_id = run.id;
  // One statement commits on its own; steps given with the run (a retry's
  // reused steps) go in the same transaction.
  std::optional<WriteTxn> txn;
  if (!run.steps.empty()) txn.emplace(c);
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
  if (txn) txn->Commit();
  return run;
}

}  // namespace

Result<Run> SqliteStore::CreateRun(const Run& in) {
  return impl_->Write([&](Conn& c) -> Result<Run> { return InsertRun(c, in, impl_->Now()); });
}

namespace {

// Sets a flow's next fire time in its schedule_state row (made on first use);
// changes nothing when the flow does not exist.
void StoreNextRunAt(Conn& c, const std::string& id, std::optional<TimePoint> next) {
  Stmt s(c,
         "INSERT INTO schedule_state (flow_id, next_run_at) SELECT id, :next FROM flows WHERE id = :id "
         "ON CONFLICT (flow_id) DO UPDATE SET next_run_at = excluded.next_run_at");
  s.Time(":next", next).Text(":id", id).Run();
}

}  // namespace

Result<void> SqliteStore::SetNextRunAt(const std::string& id, std::optional<TimePoint> next_run_at) {
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
Result<bool> RecordFire(Conn& c, const std::string& flow_id, TimePoint scheduled_for, const Run* run,
                        std::optional<TimePoint> next_run_at, int64_t missed, bool only_active,
                        TimePoint now) {
  {
    Stmt s(c,
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
#define CLAIM_WITHIN_LIMITS                                                                    \
  " AND (status = 'running' OR flow_id NOT IN (SELECT l.flow_id FROM flow_limits l "          \
  "WHERE l.max_concurrency <= (SELECT COUNT(*) FROM runs a WHERE a.flow_id = l.flow_id "       \
  "AND (a.status = 'running' OR (a.status = 'queued' AND a.claimed_by <> '')) "                \
  "AND (a.status = 'running' OR ifnull(a.lease_until, 0) > :now))))"

Result<std::vector<Run>> SqliteStore::ClaimRuns(const std::string& node, int max, TimePoint now,
                                                TimePoint lease_until) {
  if (max <= 0) return std::vector<Run>{};
  std::vector<RunJsonText> json;  // parsed after the write: the group commit waits for nothing but SQL
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
           "WHERE status IN ('queued', 'running') AND claimed_by = '' AND not_before IS NULL"
           CLAIM_WITHIN_LIMITS " ORDER BY created_at, id LIMIT :max) "
           "UNION ALL "
           "SELECT * FROM (SELECT id, created_at FROM runs INDEXED BY runs_delayed "
           "WHERE status IN ('queued', 'running') AND claimed_by = '' "
           "AND not_before IS NOT NULL AND not_before <= :now"
           CLAIM_WITHIN_LIMITS " ORDER BY created_at, id LIMIT :max) "
           "UNION ALL "
           "SELECT * FROM (SELECT id, created_at FROM runs INDEXED BY runs_claimed "
           "WHERE status IN ('queued', 'running') AND claimed_by <> '' "
           "AND ifnull(lease_until, 0) <= :now AND (not_before IS NULL OR not_before <= :now)"
           CLAIM_WITHIN_LIMITS " ORDER BY created_at, id LIMIT :max)) "
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
      s.Text(":node", node).Time(":lease_until", lease_until).Time(":now", now).Int(":max", per_statement);
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
      while (s.Step()) run.steps.push_back(ReadStep(s));
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
      run = One(s, ReadRun);
    }
    if (!run) return NotFound("run " + id);
    if (with_steps) {
      Stmt s(c, "SELECT " STEP_COLS " FROM step_runs WHERE run_id = :id ORDER BY seq, path");
      s.Text(":id", id);
      while (s.Step()) run->steps.push_back(ReadStep(s));
    }
    return std::move(*run);
  });
}

namespace {

// The cursor is "<created_at ms>_<id>" of the last run on the page.
std::string MakeCursor(const Run& r) { return std::to_string(ToUnixMs(r.created_at)) + "_" + r.id; }

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

Result<RunPage> SqliteStore::ListRuns(const RunFilter& filter) {
  std::optional<std::pair<int64_t, std::string>> after;
  if (!filter.cursor.empty()) {
    after = ParseCursor(filter.cursor);
    if (!after) return Fail(ErrorCode::kBadRequest, "invalid cursor \"" + filter.cursor + "\"");
  }
  int limit = filter.limit > 0 ? filter.limit : 50;
  // The SQL names only the filters given, so each combination is its own
  // cached statement and can use its index.
  std::string sql = "SELECT " RUN_COLS " FROM runs WHERE 1 = 1";
  if (!filter.flow_id.empty()) sql += " AND flow_id = :flow_id";
  if (filter.status) {
    sql += " AND status = :status";
    if (IsTerminal(*filter.status)) sql += " AND " FINISHED_STATUS;           // runs_by_status
    else sql += " AND id IN (SELECT id FROM " UNFINISHED_RUNS ")";  // a few rows, then sorted
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
    while (s.Step()) page.runs.push_back(ReadRun(s));
    if (static_cast<int>(page.runs.size()) > limit) {
      page.runs.pop_back();
      page.next_cursor = MakeCursor(page.runs.back());
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
  impl_->CatchUp();  // a webhook accepted before this is in the database
  return impl_->Write([&](Conn& c) -> Result<bool> {
    {
      Stmt s(c,
             std::string("UPDATE runs SET cancel_requested = 1, not_before = CASE WHEN claimed_by = '' "
                         "THEN NULL ELSE not_before END WHERE id = :id AND ") + kUnfinished);
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
                          "AND not_before IS NOT NULL AND ") + kUnfinished);
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

// ---- deliveries ------------------------------------------------------------------------

Result<Delivery> SqliteStore::CreateDelivery(const Delivery& in) {
  return impl_->Write([&](Conn& c) -> Result<Delivery> {
    Delivery d = in;
    if (d.received_at == TimePoint{}) d.received_at = impl_->Now();
    if (d.id.empty()) d.id = NewId(ToUnixMs(d.received_at));
    Stmt s(c, kInsertDelivery);
    s.Text(":id", d.id)
        .Text(":flow_id", d.flow_id)
        .Time(":received_at", d.received_at)
        .Text(":method", d.method)
        .Text(":path", d.path)
        .Int(":status_code", d.status_code)
        .Text(":run_id", d.run_id)
        .Text(":headers", DumpJson(d.headers))
        .Text(":query", DumpJson(d.query))
        .Blob(":body", d.body)
        .Text(":content_type", d.content_type)
        .Int(":auth_passed", d.auth_passed ? 1 : 0);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if (IsConstraint(e, SQLITE_CONSTRAINT_PRIMARYKEY)) {
        return Fail(ErrorCode::kConflict, "delivery " + d.id + " already exists");
      }
      throw;
    }
    return d;
  });
}

Result<Delivery> SqliteStore::GetDelivery(const std::string& id) {
  return impl_->ReadRuns([&](Conn& c) -> Result<Delivery> {
    Stmt s(c, "SELECT " DELIVERY_COLS " FROM deliveries WHERE id = :id");
    s.Text(":id", id);
    auto d = One(s, ReadDelivery);
    if (!d) return NotFound("delivery " + id);
    return std::move(*d);
  });
}

Result<std::vector<Delivery>> SqliteStore::ListDeliveries(const std::string& flow_id, int limit) {
  if (limit <= 0) limit = 50;
  return impl_->ReadRuns([&](Conn& c) -> Result<std::vector<Delivery>> {
    std::string sql = "SELECT " DELIVERY_COLS " FROM deliveries";
    if (!flow_id.empty()) sql += " WHERE flow_id = :flow_id";
    sql += " ORDER BY received_at DESC, id DESC LIMIT :limit";
    Stmt s(c, sql);
    if (!flow_id.empty()) s.Text(":flow_id", flow_id);
    s.Int(":limit", limit);
    std::vector<Delivery> out;
    while (s.Step()) out.push_back(ReadDelivery(s));
    return out;
  });
}

// ---- webhooks ----------------------------------------------------------------------------

Result<WebhookRecorded> SqliteStore::RecordWebhook(const WebhookRecord& r) {
  const bool journaled = impl_->journal_appends && Journalable(r);
  // The copies and the JSON text are made here, before the write: the group
  // commit's leader runs every waiting write one after the other, so work
  // done inside a write holds up every request queued behind it.
  WebhookRows rows;
  if (r.run) {
    Run& run = rows.run.emplace(*r.run);
    if (run.created_at == TimePoint{}) run.created_at = impl_->Now();
    if (run.id.empty()) run.id = NewId(ToUnixMs(run.created_at));
    if (!run.trigger.is_null()) rows.trigger_text = DumpJson(run.trigger);
    if (!run.input.is_null()) rows.input_text = DumpJson(run.input);
  }
  if (r.delivery) {
    Delivery& d = rows.delivery.emplace(*r.delivery);
    if (d.received_at == TimePoint{}) d.received_at = impl_->Now();
    if (d.id.empty()) d.id = NewId(ToUnixMs(d.received_at));
    rows.headers_text = DumpJson(d.headers);
    rows.query_text = DumpJson(d.query);
  }
  if (journaled) {
    if (auto put = impl_->Journal(rows); !put) return Fail(put.error());
    WebhookRecorded out;
    out.run = std::move(rows.run);
    out.delivery = std::move(rows.delivery);
    if (out.delivery) out.delivery->run_id = out.run->id;
    out.announced_later = true;
    return out;
  }
  return impl_->WriteUnguarded([&](Conn& c) -> Result<WebhookRecorded> {
    WebhookRecorded out;
    // The key, the run and the delivery go together. No savepoint in a group
    // commit (WriteUnguarded): only the run's insert can fail on purpose (a
    // run id taken), and it is the first change.
    WriteTxn txn(c, WriteTxn::kNoSavepoint);
    const std::optional<Run>& run = rows.run;
    if (run) {
      bool take = true;
      if (!r.idempotency_key.empty()) {
        // Writes are serialised: read, then insert or take over a stale key.
        Stmt q(c, "SELECT run_id, created_at FROM webhook_keys WHERE flow_id = :flow_id AND key = :key");
        q.Text(":flow_id", run->flow_id).Text(":key", r.idempotency_key);
        if (q.Step() && q.ColTime(1) >= r.keys_since) {
          out.duplicate_of = q.ColText(0);
          take = false;
        }
      }
      if (take) {
        try {
          InsertWebhookRun(c, rows);
        } catch (const SqlError& e) {
          if (IsConstraint(e, SQLITE_CONSTRAINT_PRIMARYKEY)) {
            return Fail(ErrorCode::kConflict, "run " + run->id + " already exists");
          }
          throw;
        }
        if (!r.idempotency_key.empty()) {
          Stmt k(c, "INSERT OR REPLACE INTO webhook_keys (flow_id, key, run_id, created_at) "
                    "VALUES (:flow_id, :key, :run_id, :created_at)");
          k.Text(":flow_id", run->flow_id)
              .Text(":key", r.idempotency_key)
              .Text(":run_id", run->id)
              .Time(":created_at", run->created_at);
          k.Run();
        }
      }
    }
    if (rows.delivery) {
      std::string run_id = rows.delivery->run_id;
      if (run && out.duplicate_of.empty()) run_id = run->id;
      else if (!out.duplicate_of.empty()) run_id = out.duplicate_of;
      InsertWebhookDelivery(c, rows, run_id);
    }
    txn.Commit();
    // Each write's body runs once (RunBatch), so these may be moved out.
    if (rows.run && out.duplicate_of.empty()) out.run = std::move(rows.run);
    if (rows.delivery) {
      out.delivery = std::move(rows.delivery);
      if (out.run) out.delivery->run_id = out.run->id;
      else if (!out.duplicate_of.empty()) out.delivery->run_id = out.duplicate_of;
    }
    return out;
  });
}

Result<std::optional<std::string>> SqliteStore::FindWebhookKey(const std::string& flow_id, const std::string& key,
                                                              TimePoint since) {
  return impl_->Read([&](Conn& c) -> Result<std::optional<std::string>> {
    Stmt q(c, "SELECT run_id FROM webhook_keys WHERE flow_id = :flow_id AND key = :key AND created_at >= :since");
    q.Text(":flow_id", flow_id).Text(":key", key).Time(":since", since);
    if (!q.Step()) return std::optional<std::string>{};
    return std::optional<std::string>(q.ColText(0));
  });
}

Result<int64_t> SqliteStore::PruneWebhookData(const std::string& flow_id, TimePoint before, int64_t keep,
                                              TimePoint keys_before, int max_rows) {
  if (max_rows <= 0) max_rows = 500;
  return impl_->Write([&](Conn& c) -> Result<int64_t> {
    int64_t deleted = 0;
    {
      std::string sql = "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE ";
      sql += flow_id.empty() ? "received_at < :before" : "flow_id = :flow_id AND received_at < :before";
      sql += " ORDER BY received_at LIMIT :max)";
      Stmt s(c, sql);
      if (!flow_id.empty()) s.Text(":flow_id", flow_id);
      s.Time(":before", before).Int(":max", max_rows);
      s.Run();
      deleted += sqlite3_changes(c.db());
    }
    if (!flow_id.empty() && keep > 0) {
      Stmt s(c,
             "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE flow_id = :flow_id "
             "ORDER BY received_at DESC, id DESC LIMIT :max OFFSET :keep)");
      s.Text(":flow_id", flow_id).Int(":keep", keep).Int(":max", max_rows);
      s.Run();
      deleted += sqlite3_changes(c.db());
    }
    {
      Stmt s(c,
             "DELETE FROM webhook_keys WHERE rowid IN (SELECT rowid FROM webhook_keys "
             "WHERE created_at < :before LIMIT :max)");
      s.Time(":before", keys_before).Int(":max", max_rows);
      s.Run();
      deleted += sqlite3_changes(c.db());
    }
    return deleted;
  });
}

// ---- access control (issue 9) ----------------------------------------------------

namespace {

#define USER_COLS "id, username, password_hash, role, created_at"
#define TOKEN_COLS "id, name, role, prefix, hash, created_at, created_by, expires_at, last_used_at"
#define SESSION_COLS "id_hash, user_id, created_at, last_seen_at, expires_at"

Role ReadRole(Stmt& s, int col) {
  auto r = ParseRole(s.ColText(col));
  if (!r) throw SqlError(SQLITE_CORRUPT, "stored role \"" + s.ColText(col) + "\" unknown");
  return *r;
}

User ReadUser(Stmt& s) {
  User u;
  u.id = s.ColText(0);
  u.username = s.ColText(1);
  u.password_hash = s.ColText(2);
  u.role = ReadRole(s, 3);
  u.created_at = s.ColTime(4);
  return u;
}

ApiToken ReadToken(Stmt& s) {
  ApiToken t;
  t.id = s.ColText(0);
  t.name = s.ColText(1);
  t.role = ReadRole(s, 2);
  t.prefix = s.ColText(3);
  t.hash = s.ColText(4);
  t.created_at = s.ColTime(5);
  t.created_by = s.ColText(6);
  t.expires_at = s.ColOptTime(7);
  t.last_used_at = s.ColOptTime(8);
  return t;
}

Session ReadSession(Stmt& s) {
  Session x;
  x.id_hash = s.ColText(0);
  x.user_id = s.ColText(1);
  x.created_at = s.ColTime(2);
  x.last_seen_at = s.ColTime(3);
  x.expires_at = s.ColTime(4);
  return x;
}

}  // namespace

Result<User> SqliteStore::CreateUser(const User& in) {
  return impl_->Write([&](Conn& c) -> Result<User> {
    User u = in;
    if (u.created_at == TimePoint{}) u.created_at = impl_->Now();
    if (u.id.empty()) u.id = NewId(ToUnixMs(u.created_at));
    Stmt s(c, "INSERT INTO users (" USER_COLS ") VALUES (:id, :username, :hash, :role, :created_at)");
    s.Text(":id", u.id)
        .Text(":username", u.username)
        .Text(":hash", u.password_hash)
        .Text(":role", RoleName(u.role))
        .Time(":created_at", u.created_at);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if ((e.code & 0xff) == SQLITE_CONSTRAINT) return NameTaken("user", u.username);
      throw;
    }
    return u;
  });
}

Result<User> SqliteStore::GetUser(const std::string& id) {
  return impl_->Read([&](Conn& c) -> Result<User> {
    Stmt s(c, "SELECT " USER_COLS " FROM users WHERE id = :id");
    s.Text(":id", id);
    auto u = One(s, ReadUser);
    if (!u) return NotFound("user " + id);
    return std::move(*u);
  });
}

Result<User> SqliteStore::GetUserByName(const std::string& name) {
  return impl_->Read([&](Conn& c) -> Result<User> {
    Stmt s(c, "SELECT " USER_COLS " FROM users WHERE username = :name");
    s.Text(":name", name);
    auto u = One(s, ReadUser);
    if (!u) return NotFound("user named \"" + name + "\"");
    return std::move(*u);
  });
}

Result<std::vector<User>> SqliteStore::ListUsers() {
  return impl_->Read([&](Conn& c) -> Result<std::vector<User>> {
    Stmt s(c, "SELECT " USER_COLS " FROM users ORDER BY username");
    std::vector<User> out;
    while (s.Step()) out.push_back(ReadUser(s));
    return out;
  });
}

Result<void> SqliteStore::DeleteUser(const std::string& id) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM users WHERE id = :id");  // sessions go with it (ON DELETE CASCADE)
    s.Text(":id", id).Run();
    if (c.Changes() == 0) return NotFound("user " + id);
    return Ok();
  });
}

Result<ApiToken> SqliteStore::CreateApiToken(const ApiToken& in) {
  return impl_->Write([&](Conn& c) -> Result<ApiToken> {
    ApiToken t = in;
    if (t.created_at == TimePoint{}) t.created_at = impl_->Now();
    if (t.id.empty()) t.id = NewId(ToUnixMs(t.created_at));
    Stmt s(c, "INSERT INTO api_tokens (" TOKEN_COLS
              ") VALUES (:id, :name, :role, :prefix, :hash, :created_at, :created_by, :expires_at, "
              ":last_used_at)");
    s.Text(":id", t.id)
        .Text(":name", t.name)
        .Text(":role", RoleName(t.role))
        .Text(":prefix", t.prefix)
        .Text(":hash", t.hash)
        .Time(":created_at", t.created_at)
        .Text(":created_by", t.created_by)
        .Time(":expires_at", t.expires_at)
        .Time(":last_used_at", t.last_used_at);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if ((e.code & 0xff) == SQLITE_CONSTRAINT) return Fail(ErrorCode::kConflict, "token " + t.id + " already exists");
      throw;
    }
    return t;
  });
}

Result<ApiToken> SqliteStore::GetApiTokenByHash(const std::string& hash) {
  return impl_->Read([&](Conn& c) -> Result<ApiToken> {
    Stmt s(c, "SELECT " TOKEN_COLS " FROM api_tokens WHERE hash = :hash");
    s.Text(":hash", hash);
    auto t = One(s, ReadToken);
    if (!t) return NotFound("token");
    return std::move(*t);
  });
}

Result<std::vector<ApiToken>> SqliteStore::ListApiTokens() {
  return impl_->Read([&](Conn& c) -> Result<std::vector<ApiToken>> {
    Stmt s(c, "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY created_at DESC, id DESC");
    std::vector<ApiToken> out;
    while (s.Step()) out.push_back(ReadToken(s));
    return out;
  });
}

Result<void> SqliteStore::DeleteApiToken(const std::string& id) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM api_tokens WHERE id = :id");
    s.Text(":id", id).Run();
    if (c.Changes() == 0) return NotFound("token " + id);
    return Ok();
  });
}

Result<void> SqliteStore::TouchApiToken(const std::string& id, TimePoint at) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "UPDATE api_tokens SET last_used_at = :at WHERE id = :id");
    s.Text(":id", id).Time(":at", at).Run();
    if (c.Changes() == 0) return NotFound("token " + id);
    return Ok();
  });
}

Result<Session> SqliteStore::CreateSession(const Session& in) {
  return impl_->Write([&](Conn& c) -> Result<Session> {
    Stmt s(c, "INSERT INTO sessions (" SESSION_COLS
              ") VALUES (:id_hash, :user_id, :created_at, :last_seen_at, :expires_at)");
    s.Text(":id_hash", in.id_hash)
        .Text(":user_id", in.user_id)
        .Time(":created_at", in.created_at)
        .Time(":last_seen_at", in.last_seen_at)
        .Time(":expires_at", in.expires_at);
    try {
      s.Run();
    } catch (const SqlError& e) {
      if (IsConstraint(e, SQLITE_CONSTRAINT_FOREIGNKEY)) return NotFound("user " + in.user_id);
      if ((e.code & 0xff) == SQLITE_CONSTRAINT) return Fail(ErrorCode::kConflict, "session already exists");
      throw;
    }
    return in;
  });
}

Result<Session> SqliteStore::GetSession(const std::string& id_hash) {
  return impl_->Read([&](Conn& c) -> Result<Session> {
    Stmt s(c, "SELECT " SESSION_COLS " FROM sessions WHERE id_hash = :id_hash");
    s.Text(":id_hash", id_hash);
    auto x = One(s, ReadSession);
    if (!x) return NotFound("session");
    return std::move(*x);
  });
}

Result<void> SqliteStore::TouchSession(const std::string& id_hash, TimePoint at) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "UPDATE sessions SET last_seen_at = :at WHERE id_hash = :id_hash AND last_seen_at < :at");
    s.Text(":id_hash", id_hash).Time(":at", at).Run();
    return Ok();
  });
}

Result<void> SqliteStore::DeleteSession(const std::string& id_hash) {
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM sessions WHERE id_hash = :id_hash");
    s.Text(":id_hash", id_hash).Run();
    if (c.Changes() == 0) return NotFound("session");
    return Ok();
  });
}

Result<int64_t> SqliteStore::PruneSessions(TimePoint idle_before, TimePoint now) {
  return impl_->Write([&](Conn& c) -> Result<int64_t> {
    Stmt s(c, "DELETE FROM sessions WHERE last_seen_at < :idle OR expires_at <= :now");
    s.Time(":idle", idle_before).Time(":now", now).Run();
    return c.Changes();
  });
}

// ---- retention (issue 10) ------------------------------------------------------------

Result<int64_t> SqliteStore::PruneRuns(const RunPrune& p, int max_rows) {
  if (max_rows <= 0) max_rows = 500;
  // Failed runs are judged by failed_before, the others by before; the range
  // bound on finished_at (the later of the two) lets the partial index of
  // finished runs (migration 0006) stop early.
  TimePoint top = std::max(p.before, p.failed_before);
  return impl_->Write([&](Conn& c) -> Result<int64_t> {
    WriteTxn txn(c);
    int64_t deleted = 0;
    if (top > TimePoint{}) {
      // INDEXED BY: left to itself the planner reads runs_by_status and sorts
      // every finished run for each batch.
      std::string sql = std::string("DELETE FROM runs WHERE id IN (SELECT id FROM runs INDEXED BY ") +
                        (p.flow_id.empty() ? "runs_finished" : "runs_flow_finished") + " WHERE " FINISHED_STATUS
                        " AND finished_at < :top AND (CASE WHEN status = 'failed' THEN finished_at < :failed_before "
                        "ELSE finished_at < :before END)";
      sql += p.flow_id.empty() ? " AND flow_id NOT IN (SELECT value FROM json_each(:except))"
                               : " AND flow_id = :flow_id";
      sql += " ORDER BY finished_at LIMIT :max)";
      Stmt s(c, sql);
      s.Time(":top", top).Time(":before", p.before).Time(":failed_before", p.failed_before).Int(":max", max_rows);
      if (p.flow_id.empty()) s.Text(":except", DumpJson(p.except_flows));
      else s.Text(":flow_id", p.flow_id);
      s.Run();
      deleted += sqlite3_changes(c.db());
    }
    if (!p.flow_id.empty() && p.keep > 0 && deleted < max_rows) {
      Stmt s(c,
             "DELETE FROM runs WHERE id IN (SELECT id FROM (SELECT id, status, finished_at FROM runs "
             "WHERE flow_id = :flow_id AND " FINISHED_STATUS " ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET :keep) "
             "WHERE status <> 'failed' OR ifnull(finished_at, 0) < :failed_before LIMIT :max)");
      s.Text(":flow_id", p.flow_id).Int(":keep", p.keep).Time(":failed_before", p.failed_before);
      s.Int(":max", max_rows - deleted).Run();
      deleted += sqlite3_changes(c.db());
    }
    txn.Commit();
    return deleted;
  });
}

Result<int64_t> SqliteStore::ReclaimSpace(int max_pages) {
  if (max_pages <= 0) max_pages = 1000;
  return impl_->Write([&](Conn& c) -> Result<int64_t> {
    // Outside a transaction only: inside one (a group commit) it would hold
    // the pages until that commit anyway, so it waits for the next call.
    if (sqlite3_get_autocommit(c.db())) c.Exec("PRAGMA incremental_vacuum(" + std::to_string(max_pages) + ")");
    Stmt s(c, "PRAGMA freelist_count");
    return s.Step() ? s.ColInt(0) : int64_t{0};
  });
}

}  // namespace weft
