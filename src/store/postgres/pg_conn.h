// A thin C++ layer over libpq for PostgresStore only: a connection that
// prepares each distinct SQL text once and runs it with text parameters, a
// result handle that reads columns, and a pool that hands connections to
// threads, checks them on the way out and drops broken ones. Errors are thrown
// as PgError and turned into Result by PostgresStore before they leave it.
// Conn is not thread-safe (one thread at a time); Pool is.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/json.h"

// libpq's opaque types, named here so no libpq header leaks into this one.
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace weft::pg {

struct PgError : std::runtime_error {
  PgError(std::string sqlstate, const std::string& message, bool broken,
          std::string constraint = "")
      : std::runtime_error(message),
        sqlstate(std::move(sqlstate)),
        constraint(std::move(constraint)),
        connection_broken(broken) {}
  std::string sqlstate;    // "23505" etc.; empty when the server sent none
  std::string constraint;  // the violated constraint's name, if any
  bool connection_broken;  // the connection is unusable and must be dropped
};

// Positional parameters ($1, $2, ...) in text form; NULL where absent.
class Params {
 public:
  Params& Text(std::string_view v);
  Params& Int(int64_t v);
  Params& Bool(bool v);
  Params& Time(std::optional<TimePoint> t);  // unix ms; NULL when absent
  Params& Json(const weft::Json& j);         // NULL for JSON null
  Params& JsonAlways(const weft::Json& j);   // "null" for JSON null (NOT NULL columns)
  Params& Bytes(std::string_view v);         // binary (bytea)
  Params& TextArray(const std::vector<std::string>& values);
  Params& Null();

  int size() const { return static_cast<int>(ptrs_.size()); }
  const char* const* values() const { return ptrs_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  Params& Push(std::optional<std::string> v, int format);
  std::vector<std::unique_ptr<std::string>> storage_;  // stable addresses for ptrs_
  std::vector<const char*> ptrs_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// The rows of one statement, read in text form.
class Rows {
 public:
  explicit Rows(PGresult* res);
  ~Rows();
  Rows(Rows&& o) noexcept;
  Rows& operator=(Rows&&) = delete;
  Rows(const Rows&) = delete;

  int size() const;
  bool empty() const { return size() == 0; }
  int64_t affected() const;  // rows changed by INSERT/UPDATE/DELETE

  bool IsNull(int row, int col) const;
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const;
  TimePoint Time(int row, int col) const;
  std::optional<TimePoint> OptTime(int row, int col) const;
  weft::Json Json(int row, int col) const;  // JSON null for SQL NULL
  std::string Bytes(int row, int col) const;

 private:
  PGresult* res_;
};

class Conn {
 public:
  // Connects with `url` (a libpq connection URI or key=value string), sets
  // application_name and the search_path to `schema`. Throws PgError.
  static std::unique_ptr<Conn> Open(const std::string& url, const std::string& schema,
                                    Millis connect_timeout);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs `sql` as a prepared statement (prepared on this connection the first
  // time this text is seen). Throws PgError.
  Rows Exec(const std::string& sql, const Params& params = Params());
  // Runs statements without parameters through the simple protocol (several
  // may be given; migrations, BEGIN/COMMIT). Throws PgError.
  void ExecScript(const std::string& sql);

  bool InTransaction() const;
  // True once a statement was sent that could have committed something
  // (a statement outside a transaction, or COMMIT): after a broken
  // connection, a retry is then safe only for idempotent work.
  bool MaybeCommitted() const { return maybe_committed_; }
  void ResetMaybeCommitted() { maybe_committed_ = false; }
  // Whether the connection still looks usable, without a round trip: reads
  // whatever the server sent while it was idle (a restarting server sends
  // "terminating connection" and closes) and checks the status.
  bool Healthy();
  // NOTIFYs received so far (drained): channel and payload.
  std::vector<std::pair<std::string, std::string>> TakeNotifications();
  // Waits up to `timeout` for the server to send something (a NOTIFY), then
  // returns the notifications received (empty on timeout). Throws PgError
  // when the connection broke.
  std::vector<std::pair<std::string, std::string>> WaitForNotifications(Millis timeout);

  TimePoint last_used{};

 private:
  explicit Conn(PGconn* c) : conn_(c) {}
  [[noreturn]] void Throw(PGresult* res, const std::string& what);
  Rows Check(PGresult* res, const std::string& what);
  void NoteSend();

  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
  bool maybe_committed_ = false;
  std::vector<std::pair<std::string, std::string>> notifications_;  // channel, payload
};

// A bounded pool of connections, opened lazily and reopened when broken.
class Pool {
 public:
  Pool(std::string url, std::string schema, int max_size, Millis connect_timeout,
       Millis acquire_timeout);
  ~Pool();

  // A connection for one operation; gives it back (or drops it, if broken or
  // mid-transaction) when destroyed.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease();
    Conn& operator*() { return *conn_; }
    Conn* operator->() { return conn_.get(); }
    // Marks the connection for closing instead of reuse.
    void Discard() { discard_ = true; }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
    bool discard_ = false;
  };

  // Throws PgError (connection_broken) when no connection can be made, or
  // when none comes free within the acquire timeout.
  Lease Acquire();

  // Drops every idle connection (tests; after a failover).
  void Clear();
  int open_connections() const;

 private:
  void GiveBack(std::unique_ptr<Conn> conn, bool discard);

  const std::string url_;
  const std::string schema_;
  const int max_size_;
  const Millis connect_timeout_;
  const Millis acquire_timeout_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;  // idle plus leased plus being opened
};

// A stable 32-bit hash of a schema name (FNV-1a), the second half of weft's
// advisory lock keys, so installations in different schemas do not collide.
int32_t SchemaKey(const std::string& schema);

// Quotes an identifier for SQL ("my schema" -> "\"my schema\"").
std::string QuoteIdent(const std::string& name);

}  // namespace weft::pg
