#include "store/postgres/pgtest_support.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <iostream>

#include "common/ids.h"
#include "store/postgres/pg_conn.h"

namespace weft::pgtest {

std::string DbUrl() {
  const char* url = std::getenv("WEFT_TEST_DB");
  return url ? url : "";
}

std::string Query(const std::string& sql) {
  PGconn* c = PQconnectdb(DbUrl().c_str());
  std::string out;
  if (PQstatus(c) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect: " << PQerrorMessage(c);
    PQfinish(c);
    return out;
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  PGresult* res = PQexec(c, sql.c_str());
  auto st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(res);
  } else if (PQntuples(res) > 0) {
    out = PQgetvalue(res, 0, 0);
  }
  PQclear(res);
  PQfinish(c);
  return out;
}

TempSchema::TempSchema() : name_("weft_test_" + RandomToken(64)) {
  // Lower case keeps the name the same quoted and unquoted.
  for (char& ch : name_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
}

TempSchema::~TempSchema() { Query("DROP SCHEMA IF EXISTS " + pg::QuoteIdent(name_) + " CASCADE"); }

PostgresOptions TempSchema::Options() const {
  PostgresOptions o;
  o.url = DbUrl();
  o.schema = name_;
  o.pool_size = 8;
  return o;
}

std::optional<std::string> PgCtl() {
  const char* cmd = std::getenv("WEFT_TEST_PG_CTL");
  if (!cmd || !*cmd) return std::nullopt;
  return std::string(cmd);
}

bool RunPgCtl(const std::string& args) {
  auto cmd = PgCtl();
  if (!cmd) return false;
  std::string line = *cmd + " " + args + " >/dev/null";
  return std::system(line.c_str()) == 0;
}

}  // namespace weft::pgtest

namespace {

// Skips every test of the binary: GTEST_SKIP in a global environment's SetUp.
class SkipWithoutDatabase : public ::testing::Environment {
 public:
  void SetUp() override {
    GTEST_SKIP() << "WEFT_TEST_DB is not set: the PostgreSQL tests are skipped "
                    "(scripts/test-postgres runs them against a throwaway cluster)";
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (weft::pgtest::DbUrl().empty()) {
    std::cout << "WEFT_TEST_DB is not set: skipping the PostgreSQL tests; "
                 "scripts/test-postgres starts a throwaway cluster and runs them\n";
    ::testing::AddGlobalTestEnvironment(new SkipWithoutDatabase);  // gtest owns it
  }
  return RUN_ALL_TESTS();
}
