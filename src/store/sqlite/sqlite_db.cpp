#include "store/sqlite/sqlite_db.h"

#include <string>

namespace weft::sqlite {

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

std::unique_ptr<Conn> Conn::Open(const std::string& path, bool create) {
  // No memory statistics (weft reads none): with them on, every allocation
  // SQLite makes takes one process-wide mutex. Only possible before SQLite
  // initialises; later (another user of SQLite went first) it is a no-op.
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
  sqlite3* db = nullptr;
  // NOMUTEX: SqliteStore already gives each connection to one thread at a time.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    throw SqlError(rc, "cannot open " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Conn>(new Conn(db));
}

Conn::~Conn() {
  for (auto& [sql, c] : cache_) sqlite3_finalize(c.stmt);
  sqlite3_close_v2(db_);
}

void Conn::Throw(int rc) {
  throw SqlError(sqlite3_extended_errcode(db_) ? sqlite3_extended_errcode(db_) : rc,
                 std::string("sqlite: ") + sqlite3_errmsg(db_));
}

void Conn::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw SqlError(sqlite3_extended_errcode(db_), "sqlite: " + msg);
  }
}

Stmt::Stmt(Conn& conn, const std::string& sql) : conn_(conn) {
  auto it = conn.cache_.find(sql);
  if (it != conn.cache_.end() && !it->second.in_use) {
    cached_ = &it->second;
    stmt_ = cached_->stmt;
    cached_->in_use = true;
    return;
  }
  int rc = sqlite3_prepare_v3(conn.db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                              SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) conn.Throw(rc);
  if (it == conn.cache_.end()) {  // else the cached one is busy (nested use): a one-off
    cached_ = &conn.cache_[sql];
    cached_->stmt = stmt_;
    cached_->in_use = true;
  }
}

Stmt::~Stmt() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (cached_) {
    cached_->in_use = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

int Stmt::Index(const char* name) {
  if (cached_)
    for (const auto& p : cached_->params)
      if (p.at == name && p.name == name) return p.index;
  int i = sqlite3_bind_parameter_index(stmt_, name);
  if (i == 0) throw SqlError(SQLITE_MISUSE, std::string("no SQL parameter ") + name);
  if (cached_ && cached_->params.size() < 64) cached_->params.push_back({name, name, i});
  return i;
}

void Stmt::Check(int rc) {
  if (rc != SQLITE_OK) conn_.Throw(rc);
}

Stmt& Stmt::Text(const char* name, std::string_view v) {
  Check(sqlite3_bind_text64(stmt_, Index(name), v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Stmt& Stmt::Blob(const char* name, std::string_view v) {
  Check(sqlite3_bind_blob64(stmt_, Index(name), v.data(), v.size(), SQLITE_TRANSIENT));
  return *this;
}

Stmt& Stmt::Int(const char* name, int64_t v) {
  Check(sqlite3_bind_int64(stmt_, Index(name), v));
  return *this;
}

Stmt& Stmt::Time(const char* name, TimePoint t) { return Int(name, ToUnixMs(t)); }

Stmt& Stmt::Time(const char* name, const std::optional<TimePoint>& t) {
  return t ? Int(name, ToUnixMs(*t)) : Null(name);
}

Stmt& Stmt::JsonText(const char* name, const Json& j) {
  if (j.is_null()) return Null(name);
  return Text(name, DumpJson(j));
}

Stmt& Stmt::Null(const char* name) {
  Check(sqlite3_bind_null(stmt_, Index(name)));
  return *this;
}

bool Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  conn_.Throw(rc);
}

void Stmt::Run() {
  while (Step()) {
  }
}

std::string Stmt::ColText(int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (!p) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string Stmt::ColBlob(int col) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  if (!p) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<TimePoint> Stmt::ColOptTime(int col) {
  if (IsNull(col)) return std::nullopt;
  return ColTime(col);
}

Json Stmt::ColJson(int col) {
  if (IsNull(col)) return Json();
  std::string error;
  auto j = ParseJson(ColText(col), &error);
  if (!j) {
    throw SqlError(SQLITE_CORRUPT, std::string("stored JSON in column ") +
                                       sqlite3_column_name(stmt_, col) +
                                       " is unreadable: " + error);
  }
  return std::move(*j);
}

WriteTxn::WriteTxn(Conn& conn, Nested nested)
    : conn_(conn), nested_(!sqlite3_get_autocommit(conn.db())) {
  if (nested_ && nested == kNoSavepoint) {
    open_ = false;  // the enclosing transaction (a group commit) is all there is
    return;
  }
  Stmt(conn, nested_ ? "SAVEPOINT weft_write" : "BEGIN IMMEDIATE").Run();
}

WriteTxn::~WriteTxn() {
  if (!open_ || sqlite3_get_autocommit(conn_.db())) return;
  const char* sql = nested_ ? "ROLLBACK TO weft_write; RELEASE weft_write" : "ROLLBACK";
  sqlite3_exec(conn_.db(), sql, nullptr, nullptr, nullptr);
}

void WriteTxn::Commit() {
  if (!open_) return;
  Stmt(conn_, nested_ ? "RELEASE weft_write" : "COMMIT").Run();
  open_ = false;
}

ReadTxn::ReadTxn(Conn& conn) : conn_(conn) { Stmt(conn, "BEGIN").Run(); }

ReadTxn::~ReadTxn() {
  if (!sqlite3_get_autocommit(conn_.db())) {
    sqlite3_exec(conn_.db(), "COMMIT", nullptr, nullptr, nullptr);
  }
}

std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace weft::sqlite
