// PostgresRoleLock: a role that one node at a time holds, as a PostgreSQL
// session advisory lock (pg_try_advisory_lock) on a connection of its own.
// When the holder dies, or its session ends (a database restart, a network
// cut), PostgreSQL releases the lock and another node's next Poll takes it.
// Not thread-safe: one thread calls Poll, about once a second.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "store/postgres/postgres_store.h"

namespace weft {

class PostgresRoleLock {
 public:
  // `role` names the lock (e.g. "scheduler"); the key is derived from it and
  // options.schema, so installations in different schemas do not collide.
  // Connects lazily, on the first Poll.
  PostgresRoleLock(const PostgresOptions& options, const std::string& role);
  ~PostgresRoleLock();
  PostgresRoleLock(const PostgresRoleLock&) = delete;
  PostgresRoleLock& operator=(const PostgresRoleLock&) = delete;

  // Not holding: (re)connects if needed and tries to take the lock. Holding:
  // checks with one round trip that the session is still alive; a broken
  // session means the lock is gone. Returns whether this node holds the role
  // now. Never throws; a database that cannot be reached means "not held".
  bool Poll();
  // Gives the role up (unlock and close the session).
  void Release();
  bool held() const { return held_; }
  // Why the last Poll failed, if it did ("" otherwise); for logs.
  const std::string& last_error() const { return last_error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool held_ = false;
  std::string last_error_;
};

}  // namespace weft
