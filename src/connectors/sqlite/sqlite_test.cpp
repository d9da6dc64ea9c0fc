// sqlite.query / sqlite.execute on a real database file in a temp dir.
#include "connectors/sqlite/sqlite.h"

#include <gtest/gtest.h>

#include "connectors/testing/child_server.h"
#include "connectors/testing/run_action.h"

namespace weft::connectors {
namespace {

using testing::MakeConnection;
using testing::RunAction;

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterSqlite(catalog_);
    dir_ = testing::MakeTempDir("weft-sqlite");
    conn_ = MakeConnection("sqlite", {{"path", dir_ + "/app.db"}, {"create", true}});
  }
  void TearDown() override { testing::RemoveTree(dir_); }
  ActionCatalog catalog_;
  std::string dir_;
  Connection conn_;
};

TEST_F(SqliteTest, ExecuteAndQueryWithBoundParameters) {
  auto created = RunAction(
      catalog_, "sqlite.execute",
      {{"sql", "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score REAL, tags TEXT)"}},
      &conn_);
  ASSERT_FALSE(created.outcome.error) << created.error();
  auto ins =
      RunAction(catalog_, "sqlite.execute",
                {{"sql", "INSERT INTO people (name, score, tags) VALUES (?, ?, ?), (?, ?, ?)"},
                 {"params", {"Ada", 9.5, {"x"}, "Bob'); DROP TABLE people; --", 3, nullptr}}},
                &conn_);
  ASSERT_FALSE(ins.outcome.error) << ins.error();
  EXPECT_EQ(ins.output()["affected_rows"], 2);
  EXPECT_EQ(ins.output()["last_insert_id"], 2);

  auto q =
      RunAction(catalog_, "sqlite.query",
                {{"sql", "SELECT id, name, score, tags FROM people WHERE score > :min ORDER BY id"},
                 {"params", {{"min", 1}}}},
                &conn_);
  ASSERT_FALSE(q.outcome.error) << q.error();
  EXPECT_EQ(q.output()["row_count"], 2);
  EXPECT_EQ(q.output()["rows"][0],
            Json::parse(R"({"id":1,"name":"Ada","score":9.5,"tags":"[\"x\"]"})"));
  // The "injection" was stored as a value; the table is still there.
  EXPECT_EQ(q.output()["rows"][1]["name"], "Bob'); DROP TABLE people; --");
  EXPECT_EQ(q.output()["rows"][1]["tags"], nullptr);

  auto upd = RunAction(catalog_, "sqlite.execute", {{"sql", "UPDATE people SET score = score + 1"}},
                       &conn_);
  EXPECT_EQ(upd.output()["affected_rows"], 2);
}

TEST_F(SqliteTest, ErrorsAreClear) {
  auto bad = RunAction(catalog_, "sqlite.query", {{"sql", "SELECT * FROM nowhere"}}, &conn_);
  ASSERT_TRUE(bad.outcome.error);
  EXPECT_NE(bad.error().find("no such table: nowhere"), std::string::npos) << bad.error();
  auto count =
      RunAction(catalog_, "sqlite.query", {{"sql", "SELECT ?"}, {"params", Json::array()}}, &conn_);
  ASSERT_TRUE(count.outcome.error);
  EXPECT_NE(count.error().find("1 parameters"), std::string::npos) << count.error();
  auto two = RunAction(catalog_, "sqlite.execute", {{"sql", "SELECT 1; SELECT 2"}}, &conn_);
  EXPECT_TRUE(two.outcome.error);
  Connection missing = MakeConnection("sqlite", {{"path", dir_ + "/none/x.db"}});
  EXPECT_EQ(
      RunAction(catalog_, "sqlite.query", {{"sql", "SELECT 1"}}, &missing).outcome.error->code,
      ErrorCode::kUnavailable);
}

TEST_F(SqliteTest, DeadlineInterruptsALongQuery) {
  auto r = RunAction(
      catalog_, "sqlite.query",
      {{"sql",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"}},
      &conn_, Millis(200));
  ASSERT_TRUE(r.outcome.error);
  EXPECT_EQ(r.outcome.error->code, ErrorCode::kTimeout);
}

TEST_F(SqliteTest, Tester) {
  SystemClock clock;
  EXPECT_TRUE((*catalog_.FindTester("sqlite"))(conn_, clock).ok);
  Connection missing = MakeConnection("sqlite", {{"path", dir_ + "/none/x.db"}});
  EXPECT_FALSE((*catalog_.FindTester("sqlite"))(missing, clock).ok);
}

}  // namespace
}  // namespace weft::connectors
