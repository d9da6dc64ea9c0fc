// PostgresStore against a real PostgreSQL (WEFT_TEST_DB, started by
// scripts/test-postgres): the Store contract suite, each test in a schema of
// its own, and what only several nodes on one database show: claims across
// stores, migrations at once, connections dropped by the server.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "store/postgres/pg_conn.h"
#include "store/postgres/pgtest_support.h"
#include "store/postgres/postgres_listener.h"
#include "store/postgres/postgres_migrations.h"
#include "store/postgres/postgres_store.h"
#include "store/store_contract_test.h"

namespace weft {
namespace {

using pgtest::TempSchema;

// The first Open() gives an empty schema; later ones reopen it.
class PostgresHarness : public StoreHarness {
 public:
  Result<std::unique_ptr<Store>> Open() override {
    auto s = PostgresStore::Open(schema_.Options());
    if (!s) return Fail(std::move(s).error());
    return std::unique_ptr<Store>(std::move(s).value());
  }

 private:
  TempSchema schema_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContractTest,
                         ::testing::Values(StoreContractParam{
                             "postgres", [] { return std::make_unique<PostgresHarness>(); }}),
                         StoreContractName);

const TimePoint kT0 = FromUnixMs(1'800'000'000'000);

std::unique_ptr<PostgresStore> MustOpen(const PostgresOptions& o) {
  auto s = PostgresStore::Open(o);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? std::move(s).value() : nullptr;
}

weft::Run QueuedRun(TimePoint at) {
  weft::Run r;
  r.flow_id = "f";
  r.flow_name = "f";
  r.flow_version = 1;
  r.trigger_type = "manual";
  r.created_at = at;
  return r;
}

// The URL with an application_name of our own, so a test can find (and
// terminate) exactly its store's server connections.
std::string WithAppName(const std::string& url, const std::string& name) {
  if (url.find("://") == std::string::npos) return url + " application_name=" + name;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=" + name;
}

int Backends(const std::string& app) {
  return std::stoi(pgtest::Query(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "'"));
}

TEST(PostgresStoreTest, OpenAppliesMigrationsOnce) {
  TempSchema schema;
  auto store = MustOpen(schema.Options());
  ASSERT_TRUE(store);
  int latest = postgres::Migrations().back().version;
  EXPECT_EQ(store->schema_version(), latest);
  store.reset();
  store = MustOpen(schema.Options());  // a second open finds nothing to do
  ASSERT_TRUE(store);
  EXPECT_EQ(pgtest::Query("SELECT count(*) FROM " + schema.name() + ".schema_migrations"),
            std::to_string(postgres::Migrations().size()));
}

TEST(PostgresStoreTest, NodesOpeningTogetherMigrateOnce) {
  TempSchema schema;
  constexpr int kNodes = 6;
  std::vector<std::unique_ptr<PostgresStore>> stores(kNodes);
  std::vector<std::string> errors(kNodes);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      ready++;
      while (ready < kNodes) std::this_thread::yield();  // start together
      auto s = PostgresStore::Open(schema.Options());
      if (s) {
        stores[i] = std::move(s).value();
      } else {
        errors[i] = s.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(stores[i]) << "node " << i << ": " << errors[i];
    EXPECT_EQ(stores[i]->schema_version(), postgres::Migrations().back().version);
  }
  EXPECT_EQ(pgtest::Query("SELECT count(*) FROM " + schema.name() + ".schema_migrations"),
            std::to_string(postgres::Migrations().size()));
  // Every node sees the same tables.
  weft::Run r = stores[0]->CreateRun(QueuedRun(kT0)).value();
  EXPECT_EQ(stores[kNodes - 1]->GetRun(r.id, false)->id, r.id);
}

TEST(PostgresStoreTest, SeveralNodesWithSeveralWorkersNeverDoubleClaim) {
  TempSchema schema;
  constexpr int kNodes = 3;
  constexpr int kWorkersPerNode = 4;
  constexpr int kRuns = 3000;
  std::vector<std::unique_ptr<PostgresStore>> nodes;
  for (int n = 0; n < kNodes; ++n) nodes.push_back(MustOpen(schema.Options()));
  ASSERT_TRUE(nodes.back());
  std::set<std::string> created;
  for (int i = 0; i < kRuns; ++i) {
    created.insert(nodes[i % kNodes]->CreateRun(QueuedRun(kT0 + Millis(i % 50))).value().id);
  }

  std::mutex mu;
  std::map<std::string, std::vector<std::string>> claimed_by;  // run -> nodes
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  for (int n = 0; n < kNodes; ++n) {
    for (int w = 0; w < kWorkersPerNode; ++w) {
      workers.emplace_back([&, n, w] {
        std::string node = "node" + std::to_string(n);
        for (;;) {
          auto got = nodes[n]->ClaimRuns(node, 1 + (w * 3) % 10, kT0 + std::chrono::hours(1),
                                         kT0 + std::chrono::hours(2));
          if (!got) {
            ADD_FAILURE() << got.error().message;
            failed = true;
            return;
          }
          if (got->empty()) return;
          std::lock_guard lock(mu);
          for (const auto& r : *got) {
            EXPECT_EQ(r.claimed_by, node);
            claimed_by[r.id].push_back(node);
          }
        }
      });
    }
  }
  for (auto& t : workers) t.join();
  ASSERT_FALSE(failed);
  std::set<std::string> seen;
  for (const auto& [id, who] : claimed_by) {
    ASSERT_EQ(who.size(), 1u) << "run " << id << " claimed " << who.size() << " times";
    seen.insert(id);
    // The store agrees on who holds it.
    if (seen.size() % 500 == 0) {
      EXPECT_EQ(nodes[0]->GetRun(id, false)->claimed_by, who[0]);
    }
  }
  EXPECT_EQ(seen, created);
}

TEST(PostgresStoreTest, SchedulersOnSeveralNodesFireEachTimeOnce) {
  TempSchema schema;
  constexpr int kNodes = 3;
  constexpr int kThreadsPerNode = 2;
  constexpr int kTimes = 40;
  std::vector<std::unique_ptr<PostgresStore>> nodes;
  for (int n = 0; n < kNodes; ++n) nodes.push_back(MustOpen(schema.Options()));
  ASSERT_TRUE(nodes.back());
  FlowWrite w;
  w.name = "every-minute";
  w.trigger_type = "schedule";
  w.document = Json{{"name", "every-minute"}, {"trigger", {{"type", "schedule"}}}};
  Flow flow = nodes[0]->CreateFlow(w, "").value();

  // Every scheduler walks the same fire times in order, as schedulers that
  // all believe they hold the role would.
  std::vector<std::atomic<int>> fired(kTimes);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    for (int t = 0; t < kThreadsPerNode; ++t) {
      threads.emplace_back([&, n] {
        for (int i = 0; i < kTimes; ++i) {
          TimePoint at = kT0 + std::chrono::minutes(i);
          weft::Run run = QueuedRun(at);
          run.flow_id = flow.id;
          run.trigger_type = "schedule";
          run.scheduled_for = at;
          auto r = nodes[n]->RecordScheduleFire(flow.id, at, &run, at + std::chrono::minutes(1), 0);
          if (!r) {
            ADD_FAILURE() << r.error().message;
            failed = true;
            return;
          }
          if (*r) fired[i]++;
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  ASSERT_FALSE(failed);
  for (int i = 0; i < kTimes; ++i) EXPECT_EQ(fired[i].load(), 1) << "minute " << i;
  RunFilter f;
  f.flow_id = flow.id;
  f.limit = 1000;
  auto runs = nodes[0]->ListRuns(f).value().runs;
  std::set<int64_t> times;
  for (const auto& r : runs) times.insert(ToUnixMs(*r.scheduled_for));
  EXPECT_EQ(runs.size(), static_cast<size_t>(kTimes));
  EXPECT_EQ(times.size(), static_cast<size_t>(kTimes));
  Flow got = nodes[1]->GetFlow(flow.id).value();
  EXPECT_EQ(got.next_run_at, kT0 + std::chrono::minutes(kTimes));
  // An earlier time is never fired again, and a missing flow is not found.
  EXPECT_FALSE(nodes[2]->RecordScheduleFire(flow.id, kT0, nullptr, std::nullopt, 0).value());
  EXPECT_EQ(nodes[2]->RecordScheduleFire("noflow", kT0, nullptr, std::nullopt, 0).error().code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(nodes[2]->SetNextRunAt(flow.id, std::nullopt).has_value());
  EXPECT_FALSE(nodes[0]->GetFlow(flow.id)->next_run_at.has_value());
  EXPECT_EQ(nodes[0]->SetNextRunAt("noflow", kT0).error().code, ErrorCode::kNotFound);
}

TEST(PostgresStoreTest, ADeadNodesRunsAreReclaimedAfterTheirLease) {
  TempSchema schema;
  auto a = MustOpen(schema.Options());
  auto b = MustOpen(schema.Options());
  ASSERT_TRUE(a && b);
  weft::Run r = a->CreateRun(QueuedRun(kT0)).value();
  auto got = a->ClaimRuns("a", 1, kT0 + Millis(1), kT0 + Millis(30'000)).value();
  ASSERT_EQ(got.size(), 1u);
  a.reset();  // node a dies holding the run
  EXPECT_TRUE(b->ClaimRuns("b", 5, kT0 + Millis(29'999), kT0 + Millis(60'000))->empty());
  auto again = b->ClaimRuns("b", 5, kT0 + Millis(30'000), kT0 + Millis(60'000)).value();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, r.id);
  EXPECT_EQ(again[0].claimed_by, "b");
}

TEST(PostgresStoreTest, OpenFailsClearlyWhenTheServerIsUnreachable) {
  PostgresOptions o;
  o.url = "postgres://weft:sekrit@127.0.0.1:1/weft";
  o.connect_timeout = Millis(2000);
  auto s = PostgresStore::Open(o);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s.error().message.find("cannot connect to PostgreSQL"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("127.0.0.1"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.find("sekrit"), std::string::npos) << s.error().message;

  o.url.clear();
  EXPECT_EQ(PostgresStore::Open(o).error().code, ErrorCode::kBadRequest);
}

TEST(PostgresStoreTest, RefusesASchemaNewerThanItKnows) {
  TempSchema schema;
  ASSERT_TRUE(MustOpen(schema.Options()));
  pgtest::Query("INSERT INTO " + schema.name() +
                ".schema_migrations (version, name, applied_at) VALUES (9999, '9999_future', 0)");
  auto s = PostgresStore::Open(schema.Options());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s.error().message.find("newer than this weft knows"), std::string::npos)
      << s.error().message;
}

TEST(PostgresStoreTest, ConnectionsTheServerDropsAreReplacedUnnoticed) {
  TempSchema schema;
  std::string app = "weft_t_" + schema.name().substr(10, 8);
  PostgresOptions o = schema.Options();
  o.url = WithAppName(o.url, app);
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  // Put several connections in the pool.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->CreateRun(QueuedRun(kT0)).has_value());
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_GE(Backends(app), 1);

  // An administrator (or a failover) ends every session of this store.
  pgtest::Query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = '" +
      app + "'");
  // Every kind of operation goes on without an error: the dropped
  // connections are noticed on their way out of the pool.
  for (int i = 0; i < 10; ++i) {
    auto r = store->CreateRun(QueuedRun(kT0));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    auto claimed = store->ClaimRuns("n", 2, kT0 + Millis(1), kT0 + Millis(10));
    ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
    auto got = store->GetRun(r->id, true);
    ASSERT_TRUE(got.has_value()) << got.error().message;
  }
  EXPECT_EQ(store->CountRuns(std::nullopt).value(), 90);
}

TEST(PostgresStoreTest, SurvivesAServerRestart) {
  if (!pgtest::PgCtl())
    GTEST_SKIP() << "WEFT_TEST_PG_CTL is not set (scripts/test-postgres sets it)";
  TempSchema schema;
  auto store = MustOpen(schema.Options());
  ASSERT_TRUE(store);
  weft::Run before = store->CreateRun(QueuedRun(kT0)).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->GetRun(before.id, false).has_value());
    });
  }
  for (auto& t : threads) t.join();

  ASSERT_TRUE(pgtest::RunPgCtl("restart -w -m fast"));

  // Nothing acknowledged is lost, and the pool reconnects by itself.
  for (int i = 0; i < 20; ++i) {
    auto got = store->GetRun(before.id, false);
    ASSERT_TRUE(got.has_value()) << got.error().message;
    auto r = store->CreateRun(QueuedRun(kT0 + Millis(i)));
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }
  EXPECT_EQ(store->CountRuns(RunStatus::kQueued).value(), 21);
}

TEST(PostgresStoreTest, UnavailableWhileTheServerIsDownThenRecovers) {
  if (!pgtest::PgCtl())
    GTEST_SKIP() << "WEFT_TEST_PG_CTL is not set (scripts/test-postgres sets it)";
  TempSchema schema;
  PostgresOptions o = schema.Options();
  o.connect_timeout = Millis(2000);
  auto store = MustOpen(o);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateRun(QueuedRun(kT0)).has_value());

  ASSERT_TRUE(pgtest::RunPgCtl("stop -w -m fast"));
  auto down = store->CreateRun(QueuedRun(kT0));
  bool restarted = pgtest::RunPgCtl("start -w");
  ASSERT_TRUE(restarted) << "the test cluster did not start again";
  ASSERT_FALSE(down.has_value());
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable) << down.error().message;

  auto up = store->CreateRun(QueuedRun(kT0));
  ASSERT_TRUE(up.has_value()) << up.error().message;
  EXPECT_EQ(store->CountRuns(std::nullopt).value(), 2);
}

// Waits (with a deadline) until the listener reports `channel`.
bool Heard(PostgresListener& l, const std::string& channel) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto got = l.Wait(Millis(200));
    if (!got) continue;  // kUnavailable while reconnecting
    for (const auto& ch : *got) {
      if (ch == channel) return true;
    }
  }
  return false;
}

TEST(PostgresStoreTest, NotifyWakesAListenerOnAnotherNode) {
  TempSchema schema;
  auto store = MustOpen(schema.Options());
  ASSERT_TRUE(store);
  auto listener = PostgresListener::Open(schema.Options(), {"weft_runs", "weft_flows"});
  ASSERT_TRUE(listener.has_value()) << listener.error().message;
  EXPECT_TRUE((*listener)->Wait(Millis(0))->empty()) << "nothing yet";
  ASSERT_TRUE(store->Notify("weft_runs", "queued").has_value());
  EXPECT_TRUE(Heard(**listener, "weft_runs"));
  ASSERT_TRUE(store->Notify("weft_flows", "changed").has_value());
  EXPECT_TRUE(Heard(**listener, "weft_flows"));
}

TEST(PostgresStoreTest, AListenerReconnectsAndSaysItMayHaveMissedSome) {
  TempSchema schema;
  std::string app = "weft_l_" + schema.name().substr(10, 8);
  PostgresOptions o = schema.Options();
  o.url = WithAppName(o.url, app);
  auto store = MustOpen(schema.Options());
  auto listener = PostgresListener::Open(o, {"weft_runs"});
  ASSERT_TRUE(store && listener.has_value());
  pgtest::Query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = '" +
      app + "'");
  EXPECT_TRUE(Heard(**listener, "*")) << "after reconnecting: look at everything";
  ASSERT_TRUE(store->Notify("weft_runs", "queued").has_value());
  EXPECT_TRUE(Heard(**listener, "weft_runs")) << "listening again on the new connection";
}

}  // namespace
}  // namespace weft
