#include "store/postgres/pg_conn.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace weft::pg {

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Connection-level SQLSTATEs: class 08 (connection exception) and the
// server going away (57P01 admin_shutdown, 57P02 crash_shutdown,
// 57P03 cannot_connect_now).
bool BrokenState(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
}

bool StartsWithWord(const std::string& sql, const char* word) {
  size_t n = std::strlen(word);
  if (sql.size() < n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (std::toupper(static_cast<unsigned char>(sql[i])) != word[i]) return false;
  }
  return true;
}

}  // namespace

// ---- Params ----------------------------------------------------------------------

Params& Params::Push(std::optional<std::string> v, int format) {
  if (!v) {
    ptrs_.push_back(nullptr);
    lengths_.push_back(0);
  } else {
    storage_.push_back(std::make_unique<std::string>(std::move(*v)));
    ptrs_.push_back(storage_.back()->data());
    lengths_.push_back(static_cast<int>(storage_.back()->size()));
  }
  formats_.push_back(format);
  return *this;
}

Params& Params::Text(std::string_view v) { return Push(std::string(v), 0); }
Params& Params::Int(int64_t v) { return Push(std::to_string(v), 0); }
Params& Params::Bool(bool v) { return Push(v ? "t" : "f", 0); }
Params& Params::Null() { return Push(std::nullopt, 0); }

Params& Params::Time(std::optional<TimePoint> t) {
  if (!t) return Null();
  return Int(ToUnixMs(*t));
}

Params& Params::Json(const weft::Json& j) {
  if (j.is_null()) return Null();
  return JsonAlways(j);
}

Params& Params::JsonAlways(const weft::Json& j) {
  return Push(j.dump(-1, ' ', false, weft::Json::error_handler_t::replace), 0);
}

Params& Params::Bytes(std::string_view v) { return Push(std::string(v), 1); }

Params& Params::TextArray(const std::vector<std::string>& values) {
  std::string lit = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) lit += ',';
    lit += '"';
    for (char ch : values[i]) {
      if (ch == '"' || ch == '\\') lit += '\\';
      lit += ch;
    }
    lit += '"';
  }
  lit += '}';
  return Push(std::move(lit), 0);
}

// ---- Rows ---------------------------------------------------------------------------

Rows::Rows(PGresult* res) : res_(res) {}
Rows::~Rows() {
  if (res_) PQclear(res_);
}
Rows::Rows(Rows&& o) noexcept : res_(o.res_) { o.res_ = nullptr; }

int Rows::size() const { return PQntuples(res_); }

int64_t Rows::affected() const {
  const char* n = PQcmdTuples(res_);
  return (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
}

bool Rows::IsNull(int row, int col) const { return PQgetisnull(res_, row, col) != 0; }

std::string Rows::Text(int row, int col) const {
  return std::string(PQgetvalue(res_, row, col), PQgetlength(res_, row, col));
}

int64_t Rows::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  return std::strtoll(PQgetvalue(res_, row, col), nullptr, 10);
}

bool Rows::Bool(int row, int col) const {
  const char* v = PQgetvalue(res_, row, col);
  return v && v[0] == 't';
}

TimePoint Rows::Time(int row, int col) const { return FromUnixMs(Int(row, col)); }

std::optional<TimePoint> Rows::OptTime(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Time(row, col);
}

weft::Json Rows::Json(int row, int col) const {
  if (IsNull(row, col)) return weft::Json();
  std::string error;
  auto j = ParseJson(Text(row, col), &error);
  if (!j) {
    throw PgError(
        "XX001",
        std::string("stored JSON in column ") + PQfname(res_, col) + " is unreadable: " + error,
        false);
  }
  return std::move(*j);
}

std::string Rows::Bytes(int row, int col) const {
  if (IsNull(row, col)) return "";
  size_t n = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(res_, row, col)), &n);
  if (!raw) throw PgError("", "out of memory decoding bytea", false);
  std::string out(reinterpret_cast<char*>(raw), n);
  PQfreemem(raw);
  return out;
}

// ---- Conn ---------------------------------------------------------------------------

std::unique_ptr<Conn> Conn::Open(const std::string& url, const std::string& schema,
                                 Millis connect_timeout) {
  std::string timeout =
      std::to_string(std::max<int64_t>(2, (connect_timeout.count() + 999) / 1000));
  // TCP keepalives and a user timeout, so a half-open connection (the server's
  // host gone, a dropped NAT entry) is noticed in about half a minute rather
  // than the system's two hours: it matters most for the sessions that hold
  // the scheduler's advisory lock and the LISTEN. Given before the URL, so
  // the URL's own settings win.
  const char* keys[] = {"keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "tcp_user_timeout",
                        "dbname",
                        "fallback_application_name",
                        "connect_timeout",
                        nullptr};
  const char* vals[] = {"1",    "10", "5", "3", "30000", url.c_str(), "weft", timeout.c_str(),
                        nullptr};
  PGconn* c = PQconnectdbParams(keys, vals, /*expand_dbname=*/1);
  if (!c) throw PgError("08000", "cannot connect to PostgreSQL: out of memory", true);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = Trim(PQerrorMessage(c));
    PQfinish(c);
    throw PgError("08001", "cannot connect to PostgreSQL: " + msg, true);
  }
  std::unique_ptr<Conn> conn(new Conn(c));
  // Quiet NOTICEs (e.g. "schema already exists, skipping").
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  std::string setup = "SET client_min_messages = warning";
  if (!schema.empty()) setup += "; SET search_path TO " + QuoteIdent(schema);
  conn->ExecScript(setup);
  conn->maybe_committed_ = false;
  return conn;
}

Conn::~Conn() {
  if (conn_) PQfinish(conn_);
}

bool Conn::InTransaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

void Conn::NoteSend() {
  if (!InTransaction()) maybe_committed_ = true;
}

void Conn::Throw(PGresult* res, const std::string& what) {
  std::string state, constraint, msg;
  if (res) {
    if (const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE)) state = s;
    if (const char* s = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)) constraint = s;
    msg = Trim(PQresultErrorMessage(res));
    PQclear(res);
  }
  if (msg.empty()) msg = Trim(PQerrorMessage(conn_));
  bool broken = PQstatus(conn_) == CONNECTION_BAD || BrokenState(state);
  if (broken && state.empty()) state = "08006";
  throw PgError(state, "PostgreSQL: " + msg + (what.empty() ? "" : " (" + what + ")"), broken,
                constraint);
}

Rows Conn::Check(PGresult* res, const std::string& what) {
  if (!res) Throw(nullptr, what);
  auto st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Throw(res, what);
  return Rows(res);
}

Rows Conn::Exec(const std::string& sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "weft_" + std::to_string(prepared_.size());
    Check(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), "");
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  NoteSend();
  return Check(PQexecPrepared(conn_, it->second.c_str(), params.size(), params.values(),
                              params.lengths(), params.formats(), 0),
               "");
}

void Conn::ExecScript(const std::string& sql) {
  if (StartsWithWord(sql, "COMMIT") ||
      (!InTransaction() && !StartsWithWord(sql, "BEGIN") && !StartsWithWord(sql, "ROLLBACK"))) {
    maybe_committed_ = true;
  }
  PGresult* res = PQexec(conn_, sql.c_str());
  if (!res) Throw(nullptr, "");
  auto st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Throw(res, "");
  PQclear(res);
}

bool Conn::Healthy() {
  if (PQstatus(conn_) != CONNECTION_OK || InTransaction()) return false;
  pollfd pfd{PQsocket(conn_), POLLIN, 0};
  if (pfd.fd < 0) return false;
  int n = poll(&pfd, 1, 0);
  if (n == 0) return true;  // nothing arrived while idle: the usual case
  if (n < 0) return false;
  // Something arrived while the connection sat idle: a NOTIFY is fine; a
  // server going away sends an error and closes.
  if (!PQconsumeInput(conn_)) return false;
  bool notified = false;
  while (PGnotify* note = PQnotifies(conn_)) {
    notifications_.emplace_back(note->relname, note->extra ? note->extra : "");
    PQfreemem(note);
    notified = true;
  }
  return notified && PQstatus(conn_) == CONNECTION_OK;
}

std::vector<std::pair<std::string, std::string>> Conn::TakeNotifications() {
  PQconsumeInput(conn_);
  while (PGnotify* note = PQnotifies(conn_)) {
    notifications_.emplace_back(note->relname, note->extra ? note->extra : "");
    PQfreemem(note);
  }
  return std::exchange(notifications_, {});
}

std::vector<std::pair<std::string, std::string>> Conn::WaitForNotifications(Millis timeout) {
  if (notifications_.empty()) {
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    if (pfd.fd < 0) throw PgError("08006", "PostgreSQL: the connection is closed", true);
    int n = poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (n < 0 && errno != EINTR) throw PgError("08006", "PostgreSQL: poll failed", true);
    if (n > 0 && !PQconsumeInput(conn_)) {
      throw PgError("08006", "PostgreSQL: " + Trim(PQerrorMessage(conn_)), true);
    }
  }
  auto got = TakeNotifications();
  if (PQstatus(conn_) != CONNECTION_OK) {
    throw PgError("08006", "PostgreSQL: " + Trim(PQerrorMessage(conn_)), true);
  }
  return got;
}

// ---- Pool ---------------------------------------------------------------------------

Pool::Pool(std::string url, std::string schema, int max_size, Millis connect_timeout,
           Millis acquire_timeout)
    : url_(std::move(url)),
      schema_(std::move(schema)),
      max_size_(std::max(1, max_size)),
      connect_timeout_(connect_timeout),
      acquire_timeout_(acquire_timeout) {}

Pool::~Pool() {
  std::lock_guard lock(mu_);
  idle_.clear();
}

Pool::Lease::~Lease() {
  if (conn_) pool_->GiveBack(std::move(conn_), discard_);
}

Pool::Lease Pool::Acquire() {
  auto deadline = std::chrono::steady_clock::now() + acquire_timeout_;
  std::unique_lock lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (conn->Healthy()) {
        conn->ResetMaybeCommitted();
        return Lease(this, std::move(conn));
      }
      conn.reset();  // closed outside the lock
      lock.lock();
      --open_;
      continue;
    }
    if (open_ < max_size_) {
      ++open_;
      lock.unlock();
      try {
        return Lease(this, Conn::Open(url_, schema_, connect_timeout_));
      } catch (...) {
        lock.lock();
        --open_;
        cv_.notify_one();
        throw;
      }
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= max_size_) {
      throw PgError("53300",
                    "no PostgreSQL connection came free within " +
                        std::to_string(acquire_timeout_.count()) + " ms (pool of " +
                        std::to_string(max_size_) + ")",
                    false);
    }
  }
}

void Pool::GiveBack(std::unique_ptr<Conn> conn, bool discard) {
  if (!discard && conn->InTransaction()) {
    // An operation failed inside its transaction: roll back before reuse.
    try {
      conn->ExecScript("ROLLBACK");
    } catch (const PgError&) {
      discard = true;
    }
  }
  if (discard) conn.reset();
  std::lock_guard lock(mu_);
  if (conn) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  cv_.notify_one();
}

void Pool::Clear() {
  std::vector<std::unique_ptr<Conn>> drop;
  {
    std::lock_guard lock(mu_);
    drop.swap(idle_);
    open_ -= static_cast<int>(drop.size());
  }
}

int Pool::open_connections() const {
  std::lock_guard lock(mu_);
  return open_;
}

int32_t SchemaKey(const std::string& schema) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char ch : schema) {
    h ^= ch;
    h *= 16777619u;
  }
  return static_cast<int32_t>(h);
}

std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

}  // namespace weft::pg
