// postgres.query / postgres.execute against a real PostgreSQL. Runs only when
// WEFT_TEST_DB holds a connection URL (scripts/test-postgres exports it).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "connectors/postgres/postgres.h"
#include "connectors/testing/run_action.h"
#include "core/poll.h"

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

// postgres.new_rows while 4 writers insert 10,000 rows whose transactions
// stay open for random short times after the id is taken, so ids commit out
// of order. Two pollers read the same table at once, each with its own
// cursor, as the poller commits it: with the xmin guard (the default: rows
// read by the transaction that wrote them, up to the oldest one running)
// each row is emitted exactly once; without it (a plain `id > :cursor`)
// rows committed behind the cursor are skipped for good.
TEST(PostgresTest, NewRowsWithTheXminGuardEmitsEachOfTenThousandOutOfOrderRowsOnce) {
  const char* url = std::getenv("WEFT_TEST_DB");
  if (!url || !*url) GTEST_SKIP() << "WEFT_TEST_DB is not set";
  ActionCatalog catalog;
  RegisterPostgres(catalog);
  Connection c = testing::MakeConnection("postgres", {{"url", url}}, {{"type", "none"}});
  std::string table = "weft_rows_test_" + RandomToken(40);
  for (auto& ch : table) ch = std::tolower(static_cast<unsigned char>(ch));
  auto created = RunAction(
      catalog, "postgres.execute",
      {{"sql", "CREATE TABLE " + table + " (id bigserial PRIMARY KEY, writer int, n int)"}}, &c);
  ASSERT_FALSE(created.outcome.error) << created.error();
  auto source = catalog.FindPollSource("postgres.new_rows");
  ASSERT_TRUE(source);

  constexpr int kWriters = 4, kRows = 10'000;
  std::atomic<int> written{0};
  std::atomic<bool> writing{true};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      std::mt19937 rng(w);
      for (int i = 0; i < kRows / kWriters; ++i) {
        // The insert takes its id, then the statement (its transaction)
        // sleeps 0-8 ms before it commits.
        double hold = (rng() % 9) / 1000.0;
        auto r = RunAction(catalog, "postgres.execute",
                           {{"sql", "WITH ins AS (INSERT INTO " + table +
                                        " (writer, n) VALUES ($1, $2) RETURNING id) "
                                        "SELECT pg_sleep($3) FROM ins"},
                            {"params", {w, i, hold}}},
                           &c);
        ASSERT_FALSE(r.outcome.error) << r.error();
        written.fetch_add(1);
      }
    });

  struct Poller {
    Json with;
    Json cursor;  // as committed
    std::map<int64_t, int> emitted;
    int polls = 0;
  };
  Poller guarded{{{"query", "SELECT *, xmin FROM " + table + " WHERE id > :cursor"},
                  {"cursor", "id"},
                  {"page_size", 500}}};
  Poller naive{{{"query", "SELECT * FROM " + table + " WHERE id > :cursor"},
                {"cursor", "id"},
                {"page_size", 500},
                {"xmin_guard", false}}};
  SystemClock clock;
  std::atomic<bool> cancelled{false};
  auto poll_once = [&](Poller& p) {
    PollContext ctx{p.with, &c, p.cursor, clock, clock.Now() + Millis(30'000), cancelled};
    ctx.max_items = 1000;
    auto got = source->Poll(ctx);
    EXPECT_TRUE(got) << (got ? "" : got.error().message);
    if (!got) return false;
    EXPECT_FALSE(got->keyed);
    for (const auto& item : got->items) ++p.emitted[item.item["id"].get<int64_t>()];
    if (got->cursor) p.cursor = *got->cursor;
    ++p.polls;
    return got->more;
  };
  std::thread reader([&] {
    while (writing.load()) {
      poll_once(guarded);
      poll_once(naive);
    }
  });
  for (auto& t : writers) t.join();
  writing = false;
  reader.join();
  ASSERT_EQ(written.load(), kRows);
  // Once the writers are done, polls catch up with the rest.
  for (int i = 0; i < 100 && poll_once(guarded); ++i) {
  }
  poll_once(guarded);
  for (int i = 0; i < 100 && poll_once(naive); ++i) {
  }
  poll_once(naive);

  size_t doubled = 0;
  for (const auto& [id, n] : guarded.emitted) doubled += n > 1;
  EXPECT_EQ(guarded.emitted.size(), static_cast<size_t>(kRows))
      << "the guarded poller missed rows in " << guarded.polls << " polls";
  EXPECT_EQ(doubled, 0u);
  EXPECT_EQ(guarded.emitted.begin()->first, 1);
  EXPECT_EQ(guarded.emitted.rbegin()->first, kRows);
  EXPECT_TRUE(guarded.cursor["xid"].is_number_integer()) << guarded.cursor.dump();
  // The naive cursor moved past rows that committed later: they are lost.
  EXPECT_LT(naive.emitted.size(), static_cast<size_t>(kRows))
      << "no row committed behind the naive cursor in " << naive.polls << " polls";
  std::printf("guarded: %zu rows in %d polls; naive: %zu rows (%zu lost) in %d polls\n",
              guarded.emitted.size(), guarded.polls, naive.emitted.size(),
              static_cast<size_t>(kRows) - naive.emitted.size(), naive.polls);

  // start: new: the baseline jumps to the current end without listing.
  Json none;
  PollContext base{guarded.with, &c, none, clock, clock.Now() + Millis(30'000), cancelled};
  base.baseline = true;
  base.dry_run = true;
  auto b = source->Poll(base);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_TRUE(b->items.empty());
  ASSERT_TRUE(b->cursor);
  EXPECT_GE((*b->cursor)["xid"].get<int64_t>(), guarded.cursor["xid"].get<int64_t>());
  // Rows written after the baseline are new; those before are not.
  auto late =
      RunAction(catalog, "postgres.execute",
                {{"sql", "INSERT INTO " + table + " (writer, n) VALUES (9, 1), (9, 2)"}}, &c);
  ASSERT_FALSE(late.outcome.error) << late.error();
  PollContext after{guarded.with, &c, *b->cursor, clock, clock.Now() + Millis(30'000), cancelled};
  auto next = source->Poll(after);
  ASSERT_TRUE(next) << next.error().message;
  ASSERT_EQ(next->items.size(), 2u);
  EXPECT_EQ(next->items[0].item["id"], kRows + 1);
  EXPECT_EQ(next->items[1].item["id"], kRows + 2);
  EXPECT_EQ(next->items[0].item["writer"], 9);
  // A query without xmin is refused while the guard is on, naming the field.
  Json no_xmin = {{"query", "SELECT * FROM " + table + " WHERE id > :cursor"}, {"cursor", "id"}};
  PollContext bad{no_xmin, &c, none, clock, clock.Now() + Millis(30'000), cancelled};
  auto refused = source->Poll(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().details.at(0).path, "with.query");
  RunAction(catalog, "postgres.execute", {{"sql", "DROP TABLE " + table}}, &c);
}

}  // namespace
}  // namespace weft::connectors
