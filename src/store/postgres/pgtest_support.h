// Helpers for the tests that need a real PostgreSQL (*_pgtest): the database
// URL from WEFT_TEST_DB, a schema of their own per test, raw SQL, and the
// server's pg_ctl. The main() in pgtest_support.cpp skips every test, with a
// message saying why, when WEFT_TEST_DB is not set. Not thread-safe.
#pragma once

#include <optional>
#include <string>

#include "store/postgres/postgres_store.h"

namespace weft::pgtest {

// WEFT_TEST_DB ("" when unset).
std::string DbUrl();

// Runs `sql` on a fresh connection and returns the first column of the first
// row ("" when none); fails the test on error.
std::string Query(const std::string& sql);

// A schema with a unique name, dropped with everything in it on destruction,
// so tests (and ctest processes) never see each other's tables.
class TempSchema {
 public:
  TempSchema();
  ~TempSchema();
  TempSchema(const TempSchema&) = delete;
  TempSchema& operator=(const TempSchema&) = delete;
  const std::string& name() const { return name_; }
  PostgresOptions Options() const;  // url and schema set

 private:
  std::string name_;
};

// The pg_ctl command for the test cluster (WEFT_TEST_PG_CTL, set by
// scripts/test-postgres), or nullopt when the cluster is not ours to control.
std::optional<std::string> PgCtl();
// Runs "<pg_ctl> <args>"; true on exit status 0.
bool RunPgCtl(const std::string& args);

}  // namespace weft::pgtest
