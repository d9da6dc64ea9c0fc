// postgres.query / postgres.execute against a real PostgreSQL. Runs only when
// WEFT_TEST_DB holds a connection URL (scripts/test-postgres exports it).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "connectors/postgres/postgres.h"
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
  auto created = RunAction(
      catalog, "postgres.execute",
      {{"sql", "CREATE TABLE " + table +
                   " (id serial PRIMARY KEY, name text, score numeric, ok boolean, meta jsonb)"}},
      &c);
  ASSERT_FALSE(created.outcome.error) << created.error();
  auto ins = RunAction(
      catalog, "postgres.execute",
      {{"sql", "INSERT INTO " + table +
                   " (name, score, ok, meta) VALUES ($1, $2, $3, $4), ($5, NULL, false, NULL)"},
       {"params", {"Ada", 9.5, true, {{"tags", {"x"}}}, "Bob'); DROP TABLE " + table + "; --"}}},
      &c);
  ASSERT_FALSE(ins.outcome.error) << ins.error();
  EXPECT_EQ(ins.output()["affected_rows"], 2);
  auto q = RunAction(
      catalog, "postgres.query",
      {{"sql", "SELECT id, name, score, ok, meta FROM " + table + " WHERE id >= $1 ORDER BY id"},
       {"params", {1}}},
      &c);
  ASSERT_FALSE(q.outcome.error) << q.error();
  ASSERT_EQ(q.output()["row_count"], 2);
  EXPECT_EQ(q.output()["rows"][0],
            Json::parse(R"({"id":1,"name":"Ada","score":9.5,"ok":true,"meta":{"tags":["x"]}})"));
  EXPECT_EQ(q.output()["rows"][1]["name"], "Bob'); DROP TABLE " + table + "; --");
  auto bad =
      RunAction(catalog, "postgres.query", {{"sql", "SELECT * FROM no_such_table_here"}}, &c);
  ASSERT_TRUE(bad.outcome.error);
  EXPECT_NE(bad.error().find("42P01"), std::string::npos) << bad.error();
  auto slow =
      RunAction(catalog, "postgres.query", {{"sql", "SELECT pg_sleep(5)"}}, &c, Millis(300));
  ASSERT_TRUE(slow.outcome.error);
  EXPECT_EQ(slow.outcome.error->code, ErrorCode::kTimeout);
  SystemClock clock;
  EXPECT_TRUE((*catalog.FindTester("postgres"))(c, clock).ok);
  RunAction(catalog, "postgres.execute", {{"sql", "DROP TABLE " + table}}, &c);
}

// Steps on one connection reuse one server connection (the backend pid stays
// the same) instead of connecting each time; a step that leaves a transaction
// open, or is cut short, does not hand its connection on.
TEST(PostgresTest, StepsReuseAPooledConnection) {
  const char* url = std::getenv("WEFT_TEST_DB");
  if (!url || !*url) GTEST_SKIP() << "WEFT_TEST_DB is not set";
  ActionCatalog catalog;
  RegisterPostgres(catalog);
  Connection c = testing::MakeConnection("postgres", {{"url", url}}, {{"type", "none"}});
  auto pid = [&](const Connection& conn) {
    auto q =
        RunAction(catalog, "postgres.query", {{"sql", "SELECT pg_backend_pid() AS pid"}}, &conn);
    EXPECT_FALSE(q.outcome.error) << q.error();
    return q.output()["rows"][0]["pid"].get<int64_t>();
  };
  auto sessions = [&] {
    auto q =
        RunAction(catalog, "postgres.query",
                  {{"sql",
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'weft' "
                    "AND datname = current_database()"}},
                  &c);
    EXPECT_FALSE(q.outcome.error) << q.error();
    return q.output()["rows"][0]["n"].get<int64_t>();
  };
  int64_t first = pid(c);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(pid(c), first) << "step " << i << " connected anew";
  EXPECT_EQ(sessions(), 1) << "twenty steps, one server session";

  // Steps at once each take their own connection; afterwards they wait, idle, for the next steps.
  std::vector<std::thread> lanes;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    lanes.emplace_back([&] {
      auto q = RunAction(catalog, "postgres.query", {{"sql", "SELECT pg_sleep(0.3)"}}, &c);
      if (!q.outcome.error) ok.fetch_add(1);
    });
  for (auto& t : lanes) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_LE(sessions(), 4);

  // A statement that leaves a transaction open is not shared with the next
  // step: its connection (the one last given back, taken first) is closed.
  int64_t before_begin = pid(c);
  auto begin = RunAction(catalog, "postgres.execute", {{"sql", "BEGIN"}}, &c);
  ASSERT_FALSE(begin.outcome.error) << begin.error();
  int64_t after_begin = pid(c);
  EXPECT_NE(after_begin, before_begin)
      << "a step got the connection another step left in a transaction";

  // A timed-out statement's connection is closed, not reused.
  auto slow =
      RunAction(catalog, "postgres.query", {{"sql", "SELECT pg_sleep(5)"}}, &c, Millis(300));
  ASSERT_TRUE(slow.outcome.error);
  EXPECT_NE(pid(c), after_begin) << "a step got the connection of a timed-out statement";
  EXPECT_LE(sessions(), 4);
}

}  // namespace
}  // namespace weft::connectors
