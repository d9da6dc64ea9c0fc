// postgres.query / postgres.execute against a real PostgreSQL. Runs only when
// WEFT_TEST_DB holds a connection URL (scripts/test-postgres exports it).
#include "connectors/postgres/postgres.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/ids.h"
#include "connectors/testing/run_action.h"

namespace weft::connectors {
namespace {

using testing::RunAction;

TEST(PostgresTest, QueryAndExecuteWithBoundParameters) {
  const char* url = std::getenv("WEFT_TEST_DB");
  if (!url || !*url) GTEST_SKIP() << "WEFT_TEST_DB is not set";
  ActionCatalog catalog;
  RegisterPostgres(catalog);
  Connection c = testing::MakeConnection("postgres", {{"url", url}}, {{"type", "none"}});
  std::string table = "weft_conn_test_" + RandomToken(40);
  for (auto& ch : table) ch = std::tolower(static_cast<unsigned char>(ch));
  auto created = RunAction(catalog, "postgres.execute",
                           {{"sql", "CREATE TABLE " + table + " (id serial PRIMARY KEY, name text, score numeric, ok boolean, meta jsonb)"}}, &c);
  ASSERT_FALSE(created.outcome.error) << created.error();
  auto ins = RunAction(catalog, "postgres.execute",
                       {{"sql", "INSERT INTO " + table + " (name, score, ok, meta) VALUES ($1, $2, $3, $4), ($5, NULL, false, NULL)"},
                        {"params", {"Ada", 9.5, true, {{"tags", {"x"}}}, "Bob'); DROP TABLE " + table + "; --"}}},
                       &c);
  ASSERT_FALSE(ins.outcome.error) << ins.error();
  EXPECT_EQ(ins.output()["affected_rows"], 2);
  auto q = RunAction(catalog, "postgres.query", {{"sql", "SELECT id, name, score, ok, meta FROM " + table + " WHERE id >= $1 ORDER BY id"}, {"params", {1}}}, &c);
  ASSERT_FALSE(q.outcome.error) << q.error();
  ASSERT_EQ(q.output()["row_count"], 2);
  EXPECT_EQ(q.output()["rows"][0], Json::parse(R"({"id":1,"name":"Ada","score":9.5,"ok":true,"meta":{"tags":["x"]}})"));
  EXPECT_EQ(q.output()["rows"][1]["name"], "Bob'); DROP TABLE " + table + "; --");
  auto bad = RunAction(catalog, "postgres.query", {{"sql", "SELECT * FROM no_such_table_here"}}, &c);
  ASSERT_TRUE(bad.outcome.error);
  EXPECT_NE(bad.error().find("42P01"), std::string::npos) << bad.error();
  auto slow = RunAction(catalog, "postgres.query", {{"sql", "SELECT pg_sleep(5)"}}, &c, Millis(300));
  ASSERT_TRUE(slow.outcome.error);
  EXPECT_EQ(slow.outcome.error->code, ErrorCode::kTimeout);
  SystemClock clock;
  EXPECT_TRUE((*catalog.FindTester("postgres"))(c, clock).ok);
  RunAction(catalog, "postgres.execute", {{"sql", "DROP TABLE " + table}}, &c);
}

}  // namespace
}  // namespace weft::connectors
