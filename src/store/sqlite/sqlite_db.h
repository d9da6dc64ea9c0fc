// A thin C++ layer over the SQLite C API for SqliteStore only: a connection
// with a cache of prepared statements, a statement handle that binds named
// parameters and reads columns, and a write transaction guard. Errors are
// thrown as SqlError and turned into Result by SqliteStore before they leave
// it. Not thread-safe: one thread uses a Conn at a time (SqliteStore locks).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"
#include "store/common/errors.h"

namespace weft::sqlite {

struct SqlError : std::runtime_error {
  SqlError(int code, const std::string& message) : std::runtime_error(message), code(code) {}
  int code;  // extended result code, e.g. SQLITE_CONSTRAINT_UNIQUE
};

// The Error code a SQLite result code becomes at the Store boundary.
ErrorCode CodeFor(int sqlite_code);

// Runs `f`, turning any exception into an Error: none leaves the store.
template <typename F>
auto Guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const SqlError& e) {
    return Fail(CodeFor(e.code), e.what());
  } catch (const store::CorruptValue& e) {
    return Fail(ErrorCode::kInternal, e.what());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("store: ") + e.what());
  } catch (...) {
    return Fail(ErrorCode::kInternal, "store: unknown error");
  }
}

class Conn {
 public:
  // Opens (creating if asked) the database at `path`. Throws SqlError.
  static std::unique_ptr<Conn> Open(const std::string& path, bool create);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  sqlite3* db() { return db_; }
  // Runs statements without parameters (pragmas, migrations). Throws SqlError.
  void Exec(const std::string& sql);
  // Rows changed by the last INSERT, UPDATE or DELETE on this connection.
  int64_t Changes() { return sqlite3_changes64(db_); }
  [[noreturn]] void Throw(int rc);

 private:
  friend class Stmt;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
    // Parameter indexes found before, by the address of their name (callers
    // name them with string literals; the text is compared too, in case an
    // address is reused): SQLite looks a name up by walking every parameter.
    struct Param {
      const char* at;
      std::string name;
      int index;
    };
    std::vector<Param> params;
  };
  explicit Conn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, Cached> cache_;
};

// A prepared statement taken from the connection's cache for one use; it is
// reset and its bindings cleared when the Stmt goes out of scope.
class Stmt {
 public:
  Stmt(Conn& conn, const std::string& sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are named in the SQL (":id"); binding an absent name is a bug.
  Stmt& Text(const char* name, std::string_view v);
  Stmt& Blob(const char* name, std::string_view v);
  Stmt& Int(const char* name, int64_t v);
  Stmt& Time(const char* name, TimePoint t);
  Stmt& Time(const char* name, const std::optional<TimePoint>& t);  // nullopt: NULL
  Stmt& JsonText(const char* name, const Json& j);                  // JSON null: NULL
  Stmt& Null(const char* name);

  // Advances to the next row: true if there is one. Throws SqlError.
  bool Step();
  // Steps to the end, for statements that return no rows.
  void Run();

  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t ColInt(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string ColText(int col);
  std::string ColBlob(int col);
  TimePoint ColTime(int col) { return FromUnixMs(ColInt(col)); }
  std::optional<TimePoint> ColOptTime(int col);
  Json ColJson(int col);  // throws SqlError(SQLITE_CORRUPT) when unreadable

 private:
  int Index(const char* name);
  void Check(int rc);
  Conn& conn_;
  sqlite3_stmt* stmt_ = nullptr;
  Conn::Cached* cached_ = nullptr;  // null when the statement is a one-off
};

// BEGIN IMMEDIATE on construction (a SAVEPOINT when the connection is
// already in a transaction, as in a group commit); rolls back unless Commit().
// kNoSavepoint: inside a transaction it does nothing. For the store's
// unguarded writes (SqliteStore::Impl::WriteUnguarded), where a write that
// fails halfway rolls back its whole group commit instead: a savepoint copies
// every page the write touches into SQLite's sub-journal first.
class WriteTxn {
 public:
  enum Nested { kSavepoint, kNoSavepoint };
  explicit WriteTxn(Conn& conn, Nested nested = kSavepoint);
  ~WriteTxn();
  void Commit();

 private:
  Conn& conn_;
  bool nested_;
  bool open_ = true;
};

// A consistent snapshot for reads that take several statements.
class ReadTxn {
 public:
  explicit ReadTxn(Conn& conn);
  ~ReadTxn();

 private:
  Conn& conn_;
};

// JSON as stored: compact, invalid UTF-8 replaced rather than thrown.
std::string DumpJson(const Json& j);

}  // namespace weft::sqlite
