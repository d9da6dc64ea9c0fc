// Several `weft serve` nodes on one PostgreSQL, as a user runs
// them: real processes on port 0 sharing WEFT_TEST_DB, killed with SIGKILL,
// and the database itself restarted under them (scripts/test-postgres runs
// this as cluster_pgtest; without WEFT_TEST_DB every test is skipped).
#include <openssl/evp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/time_format.h"
#include "connectors/testing/child_server.h"
#include "harness.h"
#include "store/postgres/pgtest_support.h"

namespace weft::itest {
namespace {

namespace fs = std::filesystem;

// Every node on one database needs the same key; integration_on_postgres.sh uses this one too.
const char* kKey = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e";

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (pgtest::DbUrl().empty()) GTEST_SKIP() << "WEFT_TEST_DB is not set";
    setenv("WEFT_SECRET_KEY", kKey, 0);
  }

  // Starts a node; `args` are extra `weft serve` flags.
  WeftServer& AddNode(std::vector<std::string> args = {}) {
    nodes_.push_back(std::make_unique<WeftServer>(std::move(args)));
    return *nodes_.back();
  }
  WeftServer& node(size_t i) { return *nodes_.at(i); }
  size_t size() const { return nodes_.size(); }

  static int Count(const std::string& text, const std::string& needle) {
    int n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
      ++n;
    return n;
  }
  // Times any node took the scheduler role, and the live node holding it now (-1: none).
  int TakeOvers() const {
    int n = 0;
    for (const auto& s : nodes_) n += Count(s->Logs(), "took the scheduler role");
    return n;
  }
  int Holder() const {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i]->running()) continue;
      auto r = nodes_[i]->api().Get("/readyz");
      if (r.status == 200 && r.json["scheduler"].value("held", false)) return static_cast<int>(i);
    }
    return -1;
  }

  // Every run of a flow (at most 1000), newest first.
  static Json RunsOf(const Client& api, const std::string& flow_id,
                     const std::string& status = "") {
    auto r = api.Get("/api/v1/runs?limit=1000&flow_id=" + flow_id +
                     (status.empty() ? "" : "&status=" + status));
    return r.status == 200 ? r.json["runs"] : Json::array();
  }

  // A connection to the test database, for steps that leave a row per execution.
  static std::string SinkConnection(const Client& api) {
    std::string name = UniqueName("sink");
    auto r = api.Post("/api/v1/connections", Json{{"name", name},
                                                  {"connector", "postgres"},
                                                  {"settings", {{"url", pgtest::DbUrl()}}},
                                                  {"auth", {{"type", "none"}}}});
    EXPECT_EQ(r.status, 201) << r.body;
    return name;
  }
  static Json Insert(const std::string& id, const std::string& connection,
                     const std::string& table) {
    return Json{{"id", id},
                {"uses", "postgres.execute"},
                {"connection", connection},
                {"with",
                 {{"sql", "INSERT INTO " + table + " (run_id, step) VALUES ($1, '" + id + "')"},
                  {"params", Json::array({"{{ run.id }}"})}}}};
  }

  std::vector<std::unique_ptr<WeftServer>> nodes_;
};

std::string HookPath(const Json& flow) {
  std::string url = GetString(flow, "webhook_url");
  size_t at = url.find("/hooks/");
  return at == std::string::npos ? "" : url.substr(at);
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  return out;
}

// A table of its own per test, in the shared database.
struct SinkTable {
  SinkTable() : name("cluster_hits_" + UniqueName("t").substr(2)) {
    pgtest::Query("CREATE TABLE " + name + " (run_id text NOT NULL, step text NOT NULL)");
  }
  ~SinkTable() { pgtest::Query("DROP TABLE IF EXISTS " + name); }
  std::string name;
};

TEST_F(ClusterTest, AThousandWebhooksOverThreeNodesMakeAThousandRunsEachExecutedOnce) {
  for (int i = 0; i < 3; ++i) AddNode({"--workers", "4"});
  ASSERT_FALSE(HasFatalFailure());
  SinkTable table;
  std::string sink = SinkConnection(node(0).api());
  Json flow =
      CreateFlow(node(0).api(),
                 Json{{"name", UniqueName("spread")},
                      {"trigger", {{"type", "webhook"}}},
                      {"steps", Json::array({Insert("first", sink, table.name),
                                             Json{{"id", "middle"},
                                                  {"uses", "data.set"},
                                                  {"with", {{"value", "{{ trigger.body.n }}"}}}},
                                             Insert("last", sink, table.name)})}});
  std::string id = GetString(flow, "id");
  // Activated on another node than the one it was created on.
  ASSERT_EQ(node(1).api().Post("/api/v1/flows/" + id + "/activate").status, 200);
  std::string path = HookPath(flow);
  ASSERT_FALSE(path.empty()) << flow.dump();

  constexpr int kRequests = 1000;
  std::atomic<int> next{0};
  std::mutex mu;
  std::set<std::string> run_ids;
  std::map<long, int> statuses;
  std::vector<std::thread> senders;
  for (int t = 0; t < 6; ++t) {
    senders.emplace_back([&] {
      for (int i = next++; i < kRequests; i = next++) {
        auto r = node(i % 3).api().PostRaw(path, "{\"n\":" + std::to_string(i) + "}",
                                           "application/json");
        std::lock_guard<std::mutex> g(mu);
        ++statuses[r.status];
        if (r.status == 202) run_ids.insert(GetString(r.json, "run_id"));
      }
    });
  }
  for (auto& s : senders) s.join();
  EXPECT_EQ(statuses[202], kRequests) << "answers by status: " << Json(statuses).dump();
  EXPECT_EQ(run_ids.size(), static_cast<size_t>(kRequests)) << "every request its own run";

  bool done =
      WaitFor([&] { return RunsOf(node(2).api(), id, "succeeded").size() == kRequests; }, 120s);
  EXPECT_TRUE(done) << "succeeded: " << RunsOf(node(2).api(), id, "succeeded").size();
  Json all = RunsOf(node(0).api(), id);
  EXPECT_EQ(all.size(), static_cast<size_t>(kRequests)) << "no extra runs";
  // Each step of each run executed once: one row per (run, step), no more.
  EXPECT_EQ(pgtest::Query("SELECT count(*) FROM " + table.name), std::to_string(2 * kRequests));
  EXPECT_EQ(pgtest::Query("SELECT count(DISTINCT (run_id, step)) FROM " + table.name),
            std::to_string(2 * kRequests));
  EXPECT_EQ(pgtest::Query("SELECT count(DISTINCT run_id) FROM " + table.name),
            std::to_string(kRequests));
}

TEST_F(ClusterTest, ARunWhoseNodeWasKilledIsFinishedByAnother) {
  WeftServer& first = AddNode({"--lease", "3s"});
  ASSERT_FALSE(HasFatalFailure());
  SinkTable table;
  std::string sink = SinkConnection(first.api());
  Json flow = CreateFlow(
      first.api(),
      Json{{"name", UniqueName("handover")},
           {"steps", Json::array({Insert("before", sink, table.name),
                                  Json{{"id", "slow"},
                                       {"uses", "postgres.query"},
                                       {"connection", sink},
                                       {"with", {{"sql", "SELECT pg_sleep(3)::text AS slept"}}}},
                                  Insert("after", sink, table.name)})}});
  auto started =
      first.api().Post("/api/v1/flows/" + GetString(flow, "id") + "/runs", Json::object());
  ASSERT_EQ(started.status, 202) << started.body;
  std::string run_id = GetString(started.json, "id");
  // The first node is in the middle of the run (it holds it) when it dies.
  ASSERT_TRUE(WaitFor([&] {
    return GetString(StepOf(first.api().Get("/api/v1/runs/" + run_id).json, "slow"), "status") ==
           "running";
  }));
  WeftServer& second = AddNode({"--lease", "3s"});
  ASSERT_FALSE(HasFatalFailure());
  first.Kill9();

  Json run = WaitRunFinished(second.api(), run_id, 30s);
  EXPECT_EQ(GetString(run, "status"), "succeeded") << run.dump();
  EXPECT_EQ(pgtest::Query("SELECT count(*) FROM " + table.name + " WHERE step = 'before'"), "1")
      << "the finished step is not run again";
  EXPECT_EQ(pgtest::Query("SELECT count(*) FROM " + table.name + " WHERE step = 'after'"), "1");
}

// Each fire time of a */2 s schedule is accounted for exactly once: by its
// own run, or inside a later run's `missed` (misfire run_once catching up a
// takeover gap); no time twice.
void ExpectEveryFireTimeOnce(const Json& runs) {
  std::vector<std::pair<TimePoint, int64_t>> fires;
  for (const auto& r : runs) {
    auto at = ParseIso(GetString(r, "scheduled_for"));
    ASSERT_TRUE(at) << r.dump();
    fires.emplace_back(*at, r["trigger"].value("missed", int64_t{0}));
  }
  std::sort(fires.begin(), fires.end());
  for (size_t i = 1; i < fires.size(); ++i) {
    auto gap = std::chrono::duration_cast<Millis>(fires[i].first - fires[i - 1].first).count();
    ASSERT_GT(gap, 0) << "a fire time fired twice: " << FormatIso(fires[i].first);
    EXPECT_EQ(gap % 2000, 0) << FormatIso(fires[i].first);
    int64_t covered = fires[i].second > 0 ? fires[i].second : 1;
    EXPECT_EQ(gap / 2000, covered) << "fire times before " << FormatIso(fires[i].first)
                                   << " skipped or doubled (missed=" << fires[i].second << ")";
  }
}

TEST_F(ClusterTest, TheSchedulerMovesWhenItsNodeIsKilledAndWhenTheDatabaseRestarts) {
  for (int i = 0; i < 3; ++i) AddNode({"--lease", "3s"});
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(WaitFor([&] { return Holder() >= 0; }, 10s)) << "no node took the scheduler role";
  int holder = Holder();
  const Client& other = node((holder + 1) % 3).api();

  // Saved and activated on a node that does not schedule: the scheduler
  // node hears of it (NOTIFY), not only at its next rescan.
  Json flow = CreateFlow(
      other,
      Json{{"name", UniqueName("every2s")},
           {"trigger",
            {{"type", "schedule"},
             {"schedule", {{"kind", "cron"}, {"cron", "*/2 * * * * *"}, {"misfire", "run_once"}}}}},
           {"steps",
            Json::array({Json{
                {"id", "tick"}, {"uses", "data.set"}, {"with", {{"value", "{{ run.id }}"}}}}})}});
  std::string id = GetString(flow, "id");
  ASSERT_EQ(other.Post("/api/v1/flows/" + id + "/activate").status, 200);
  EXPECT_TRUE(WaitFor([&] { return RunsOf(other, id).size() >= 2; }, 8s))
      << "the schedule did not start";

  // kill -9 the scheduler node: another takes over within a few seconds.
  int took = TakeOvers();
  node(holder).Kill9();
  auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return TakeOvers() > took && Holder() >= 0; }, 10s))
      << "nobody took over";
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 5s);
  holder = Holder();
  size_t before = RunsOf(other, id).size();
  EXPECT_TRUE(WaitFor([&] { return RunsOf(node(holder).api(), id).size() >= before + 2; }, 10s))
      << "no fires after the takeover";

  // The database restarts under the nodes: the role is taken again, runs go on.
  if (auto pg_ctl = pgtest::PgCtl()) {
    took = TakeOvers();
    ASSERT_TRUE(pgtest::RunPgCtl("restart -m fast -w")) << "pg_ctl restart failed";
    EXPECT_TRUE(WaitFor([&] { return TakeOvers() > took && Holder() >= 0; }, 20s))
        << "the scheduler role was not taken again after the restart";
    holder = Holder();
    ASSERT_GE(holder, 0);
    before = RunsOf(node(holder).api(), id, "succeeded").size();
    EXPECT_TRUE(WaitFor(
        [&] { return RunsOf(node(holder).api(), id, "succeeded").size() >= before + 2; }, 15s))
        << "scheduled runs did not go on after the restart";
    // Any node still takes and finishes a run.
    for (size_t i = 0; i < size(); ++i) {
      if (!node(i).running()) continue;
      auto r = RunAndWait(node(i).api(), id);
      EXPECT_EQ(GetString(r.json, "status"), "succeeded") << "node " << i << ": " << r.body;
    }
  }
  ASSERT_EQ(node(holder).api().Post("/api/v1/flows/" + id + "/deactivate").status, 200);
  Json runs = Json::array();
  for (const auto& r : RunsOf(node(holder).api(), id))
    if (GetString(r["trigger"], "type") == "schedule") runs.push_back(r);
  EXPECT_GE(runs.size(), 6u);
  ExpectEveryFireTimeOnce(runs);
}

// A poll flow (http.new_items against tests/servers/items_server.py, a slow
// API: pages of 20, 40 ms each) on two nodes while 2,000 items arrive in
// bursts: the node holding the scheduler role is killed with SIGKILL while
// it reads a page; the other takes the role and goes on from the committed
// cursor. Every item is one run: none lost, none twice.
TEST_F(ClusterTest, APollFlowLosesAndDoublesNoItemWhenTheSchedulerNodeIsKilledMidPoll) {
  for (int i = 0; i < 2; ++i) AddNode({"--lease", "3s"});
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(WaitFor([&] { return Holder() >= 0; }, 10s)) << "no node took the scheduler role";
  weft::testing::ChildServer items(std::vector<std::string>{
      weft::testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/items_server.py", "--quiet"});
  ASSERT_GT(items.port(), 0) << items.error();
  const std::string base = "http://127.0.0.1:" + std::to_string(items.port());
  const Client admin(base);
  const Client& api = node(0).api();
  std::string conn = UniqueName("items");
  ASSERT_EQ(api.Post("/api/v1/connections",
                     Json{{"name", conn},
                          {"connector", "http"},
                          {"settings", {{"base_url", base}}},
                          {"auth", {{"type", "bearer"}, {"token", "items-token"}}}})
                .status,
            201);
  Json flow = CreateFlow(api, Json{{"name", UniqueName("poll-failover")},
                                   {"trigger",
                                    {{"type", "poll"},
                                     {"poll",
                                      {{"every", "1s"},
                                       {"start", "all"},
                                       {"source",
                                        {{"uses", "http.new_items"},
                                         {"connection", conn},
                                         {"with",
                                          {{"url", "/items"},
                                           {"query", {{"limit", 20}, {"delay_ms", 40}}},
                                           {"paginate",
                                            {{"type", "cursor"},
                                             {"cursor", "next"},
                                             {"cursor_param", "page_token"},
                                             {"max_pages", 1000}}},
                                           {"items", "data"},
                                           {"key", "id"},
                                           {"cursor", "$max(items.updated)"}}}}}}}}},
                                   {"steps", Json::array()}});
  const std::string id = GetString(flow, "id");
  constexpr int kItems = 2000;
  std::atomic<int> written{0};
  std::atomic<bool> killed{false};
  // Half the items before the kill, half after it (the writer waits for the
  // kill, so "more items are still coming" holds however fast this machine is).
  std::thread writer([&] {
    for (int i = 0; i < kItems; ++i) {
      if (i == kItems / 2)
        for (int w = 0; w < 900 && !killed.load(); ++w) std::this_thread::sleep_for(100ms);
      auto r = admin.Post("/admin/put", Json{{"id", "item-" + std::to_string(10000 + i)}});
      if (r.status == 200) ++written;
      if (i % 200 == 199) std::this_thread::sleep_for(700ms);
    }
  });
  struct JoinOnExit {  // a failed ASSERT returns early: let the writer finish, join it
    std::atomic<bool>& killed;
    std::thread& writer;
    ~JoinOnExit() {
      killed = true;
      if (writer.joinable()) writer.join();
    }
  } join_on_exit{killed, writer};
  ASSERT_EQ(api.Post("/api/v1/flows/" + id + "/activate").status, 200);
  // Every run of the flow, paged.
  auto runs = [&](const Client& c) {
    std::vector<Json> out;
    std::string cursor;
    for (int page = 0; page < 20; ++page) {
      auto r = c.Get("/api/v1/runs?limit=1000&flow_id=" + id +
                     (cursor.empty() ? "" : "&cursor=" + cursor));
      if (r.status != 200) break;
      for (const auto& run : r.json["runs"]) out.push_back(run);
      cursor = GetString(r.json, "next_cursor");
      if (cursor.empty()) break;
    }
    return out;
  };
  // Killed once runs are being made, more items are still coming, and a
  // page is being read (the poll is under way).
  ASSERT_TRUE(WaitFor([&] { return runs(api).size() >= 400 && written.load() >= 800; }, 60s))
      << runs(api).size() << " runs";
  ASSERT_TRUE(WaitFor([&] { return admin.Get("/admin/busy").json.value("busy", 0) > 0; }, 10s))
      << "no poll under way";
  int holder = Holder();
  ASSERT_GE(holder, 0);
  int took = TakeOvers();
  int written_at_kill = written.load();
  node(holder).Kill9();
  killed = true;
  const Client& survivor = node(1 - holder).api();
  ASSERT_TRUE(WaitFor([&] { return TakeOvers() > took && Holder() == 1 - holder; }, 15s))
      << "nobody took over";
  writer.join();
  EXPECT_LT(written_at_kill, kItems) << "the kill came after the last item";
  ASSERT_EQ(written.load(), kItems);
  ASSERT_TRUE(WaitFor([&] { return runs(survivor).size() >= kItems; }, 120s))
      << runs(survivor).size() << " of " << kItems;
  std::this_thread::sleep_for(3s);  // more polls: nothing more
  std::vector<Json> all = runs(survivor);
  EXPECT_EQ(all.size(), static_cast<size_t>(kItems));
  std::set<std::string> ids;
  for (const auto& r : all)
    EXPECT_TRUE(ids.insert(GetString(r["trigger"]["item"], "id")).second)
        << "twice: " << r["trigger"].dump();
  EXPECT_EQ(ids.size(), static_cast<size_t>(kItems));
  EXPECT_EQ(*ids.begin(), "item-10000");
  EXPECT_EQ(*ids.rbegin(), "item-" + std::to_string(10000 + kItems - 1));
  ASSERT_EQ(survivor.Post("/api/v1/flows/" + id + "/deactivate").status, 200);
}

TEST_F(ClusterTest, RolesSplitTheWorkAndFlowChangesReachEveryNodeAtOnce) {
  WeftServer& front = AddNode({"--roles", "api,webhooks"});
  ASSERT_FALSE(HasFatalFailure());
  Json flow =
      CreateFlow(front.api(),
                 Json{{"name", UniqueName("roles")},
                      {"trigger", {{"type", "webhook"}}},
                      {"steps", Json::array({Json{{"id", "echo"},
                                                  {"uses", "data.set"},
                                                  {"with", {{"value", "{{ trigger.body }}"}}}}})}});
  std::string id = GetString(flow, "id");
  ASSERT_EQ(front.api().Post("/api/v1/flows/" + id + "/activate").status, 200);
  auto accepted = front.api().PostRaw(HookPath(flow), R"({"a":1})", "application/json");
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  std::string run_id = GetString(accepted.json, "run_id");

  WeftServer& back = AddNode({"--roles", "workers,scheduler"});
  ASSERT_FALSE(HasFatalFailure());
  // The API-only node ran nothing; the worker node does.
  Json run = WaitRunFinished(front.api(), run_id, 20s);
  EXPECT_EQ(GetString(run, "status"), "succeeded") << run.dump();
  EXPECT_EQ(back.api().Get("/healthz").status, 200);
  auto refused = back.api().Get("/api/v1/flows");
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("--roles"), std::string::npos) << refused.body;
  EXPECT_EQ(back.api().PostRaw(HookPath(flow), "{}", "application/json").status, 503);

  // A change made on one node goes live on another (within about a second;
  // the deadline is generous for a loaded machine).
  WeftServer& third = AddNode();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(third.api().PostRaw(HookPath(flow), "{}", "application/json").status, 202);
  auto rotated = front.api().Post("/api/v1/flows/" + id + "/webhook/rotate");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_TRUE(WaitFor(
      [&] { return third.api().PostRaw(HookPath(flow), "{}", "application/json").status == 404; },
      20s))
      << "the old URL still works on another node";
  EXPECT_EQ(third.api().PostRaw(HookPath(rotated.json), "{}", "application/json").status, 202);
}

// Files on several nodes: the bytes live in a bucket every node reads
// (--files s3://...; s3rver on loopback). Node A downloads a file in the
// run's first step; the run then waits in a flow.delay (suspended, its claim
// released) and A stops, so node B, started afterwards, is the one that runs
// the upload step and reads the file A wrote.
TEST_F(ClusterTest, AFileOneNodeWroteIsReadByAnotherThroughTheSharedBucket) {
  if (access(WEFT_TEST_SERVERS_DIR "/node_modules/s3rver/package.json", R_OK) != 0)
    GTEST_SKIP() << "s3rver is not installed (scripts/install-deps runs npm ci in tests/servers)";
  const std::string tmp = weft::testing::MakeTempDir("weft-cluster-files");
  struct Cleanup {
    std::string dir;
    ~Cleanup() { weft::testing::RemoveTree(dir); }
  } cleanup{tmp};
  fs::create_directories(tmp + "/bucket");
  fs::create_directories(tmp + "/blobs");
  weft::testing::ChildServer s3({"node", WEFT_TEST_SERVERS_DIR "/s3_server.js", tmp + "/bucket"});
  ASSERT_GT(s3.port(), 0) << s3.error();
  weft::testing::ChildServer blobs(
      {weft::testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/blob_server.py", tmp + "/blobs"});
  ASSERT_GT(blobs.port(), 0) << blobs.error();
  const size_t kSize = 20u << 20;  // three parts of a multipart upload
  const std::string bytes = RandomBytes(kSize, 17);
  { std::ofstream(tmp + "/blobs/scan.pdf", std::ios::binary) << bytes; }
  const std::string sha = Sha256Hex(bytes);
  const std::string blob = "http://127.0.0.1:" + std::to_string(blobs.port());
  setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
  setenv("AWS_ENDPOINT_URL", ("http://127.0.0.1:" + std::to_string(s3.port())).c_str(), 1);
  struct Unset {
    ~Unset() {
      for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"})
        unsetenv(v);
    }
  } unset;
  const std::vector<std::string> files = {"--files", "s3://test-bucket/weft"};

  WeftServer& a = AddNode(files);
  ASSERT_FALSE(HasFatalFailure());
  Json flow = CreateFlow(
      a.api(), Json{{"name", UniqueName("files")},
                    {"steps",
                     {{{"id", "get"},
                       {"uses", "http.request"},
                       {"with", {{"url", blob + "/files/scan.pdf"}, {"response_type", "file"}}}},
                      {{"id", "wait"}, {"uses", "flow.delay"}, {"with", {{"duration", "2s"}}}},
                      {{"id", "put"},
                       {"uses", "http.request"},
                       {"with",
                        {{"method", "PUT"},
                         {"url", blob + "/upload/copy.pdf"},
                         {"body", "{{ steps.get.output.body }}"}}}}}}});
  auto started = a.api().Post("/api/v1/flows/" + GetString(flow, "id") + "/runs", Json::object());
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string run_id = GetString(started.json, "id");
  ASSERT_TRUE(WaitFor(
      [&] {
        Json run = a.api().Get("/api/v1/runs/" + run_id).json;
        return GetString(StepOf(run, "get"), "status") == "succeeded" &&
               GetString(StepOf(run, "wait"), "status") == "running";
      },
      30s))
      << a.api().Get("/api/v1/runs/" + run_id).body;
  // B reaches the bucket through an s3 connection (--files-connection),
  // read from the shared database, not through the environment.
  const std::string conn = UniqueName("bucket");
  auto made = a.api().Post("/api/v1/connections",
                           Json{{"name", conn},
                                {"connector", "s3"},
                                {"settings",
                                 {{"bucket", "test-bucket"},
                                  {"endpoint", "http://127.0.0.1:" + std::to_string(s3.port())},
                                  {"path_style", true}}},
                                {"auth",
                                 {{"type", "access_key"},
                                  {"access_key_id", "S3RVER"},
                                  {"secret_access_key", "S3RVER"}}}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(a.Stop(), 0);

  for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"})
    unsetenv(v);
  std::vector<std::string> b_args = files;
  b_args.insert(b_args.end(), {"--files-connection", conn});
  WeftServer& b = AddNode(b_args);
  ASSERT_FALSE(HasFatalFailure());
  Json run = WaitRunFinished(b.api(), run_id, 60s);
  ASSERT_EQ(GetString(run, "status"), "succeeded") << run.dump();
  Json file = StepOf(run, "get")["output"]["body"];
  EXPECT_EQ(file["type"], "file") << file.dump();
  EXPECT_EQ(file["sha256"], sha);
  // The upload B ran received A's bytes.
  Json put = StepOf(run, "put")["output"]["body"];
  EXPECT_EQ(put["size"], kSize);
  EXPECT_EQ(put["sha256"], sha);
  // B's API serves the file too, and nothing of it is in either data dir.
  HttpResult served = b.api().Request("GET", "/api/v1/files/" + GetString(file, "id"), "", {}, 60s);
  ASSERT_EQ(served.status, 200);
  EXPECT_EQ(Sha256Hex(served.body), sha);
  for (const WeftServer* n : {&a, &b}) {
    std::error_code ec;
    EXPECT_FALSE(fs::exists(n->data_dir() + "/files", ec)) << n->data_dir();
  }
  EXPECT_TRUE(
      fs::exists(tmp + "/bucket/test-bucket/weft/" + GetString(file, "id") + "._S3rver_object"));

  // Without a bucket files are off on PostgreSQL, and the node says what is missing;
  // a folder is refused (the other nodes could not read it).
  WeftServer& c = AddNode();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_NE(c.Logs().find("files are off"), std::string::npos) << c.Logs();
  EXPECT_NE(c.Logs().find("--files s3://bucket/prefix"), std::string::npos) << c.Logs();
  auto folder = RunWeft(
      {"serve", "--listen", "127.0.0.1:0", "--db", pgtest::DbUrl(), "--files", tmp + "/local"},
      30s);
  EXPECT_NE(folder.exit_code, 0);
  EXPECT_NE(folder.output.find("must be shared by every node"), std::string::npos) << folder.output;
}

// Two nodes share one connection's rate limit (the GCRA row is in the
// database): 60 requests from runs on both nodes, against an application that
// refuses more than 10 in any second, with the connection at 7/s (a quarter
// under, as docs/connectors.md advises: at 9/s two of 60 arrived too close).
TEST_F(ClusterTest, TwoNodesShareOneConnectionsRateLimit) {
  testing::ChildServer app(
      {testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/rate_server.py", "10"});
  ASSERT_GT(app.port(), 0) << app.error();
  WeftServer& a = AddNode();
  WeftServer& b = AddNode();
  std::string conn_name = UniqueName("limited");
  auto conn = a.api().Post("/api/v1/connections",
                           Json{{"name", conn_name},
                                {"connector", "http"},
                                {"settings",
                                 {{"base_url", "http://127.0.0.1:" + std::to_string(app.port())},
                                  {"rate_limit", {{"requests", 7}, {"per", "1s"}}}}}});
  ASSERT_EQ(conn.status, 201) << conn.body;
  Json items = Json::array();
  for (int i = 0; i < 15; ++i) items.push_back(i);
  Json flow = CreateFlow(
      a.api(),
      Json{{"name", UniqueName("fan")},
           {"steps",
            Json::array({Json{{"id", "each"},
                              {"uses", "flow.foreach"},
                              {"with", {{"items", items}, {"concurrency", 8}}},
                              {"do", Json::array({Json{{"id", "call"},
                                                       {"uses", "http.request"},
                                                       {"connection", conn_name},
                                                       {"with", {{"url", "/hit"}}}}})}}})}});
  std::string id = flow["id"].get<std::string>();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::pair<const Client*, std::string>> runs;
  for (int i = 0; i < 4; ++i) {
    const Client& api = (i % 2 == 0 ? a : b).api();
    auto r = api.Post("/api/v1/flows/" + id + "/runs", Json::object());
    ASSERT_EQ(r.status, 202) << r.body;
    runs.push_back({&api, r.json["id"].get<std::string>()});
  }
  for (const auto& [api, run_id] : runs) {
    Json run = WaitRunFinished(*api, run_id, std::chrono::seconds(60));
    EXPECT_EQ(run["status"], "succeeded") << run.dump().substr(0, 1000);
  }
  auto took = std::chrono::steady_clock::now() - start;
  Json stats = Client("http://127.0.0.1:" + std::to_string(app.port())).Get("/__stats").json;
  EXPECT_EQ(stats["over"], 0) << stats.dump().substr(0, 400);
  EXPECT_EQ(stats["ok"], 60);
  EXPECT_GE(took, std::chrono::milliseconds(59 * 1000 / 7));
  // Which node finished how many runs (a run moves between nodes as it waits).
  std::cout << "runs finished on node a: " << Count(a.Logs(), "run finished")
            << ", on node b: " << Count(b.Logs(), "run finished") << "\n";
}

TEST_F(ClusterTest, ANodeWithoutTheSharedSecretKeyRefusesToStart) {
  WeftServer& first = AddNode();
  ASSERT_FALSE(HasFatalFailure());
  // A stored secret, sealed with the cluster's key.
  auto c = first.api().Post("/api/v1/connections",
                            Json{{"name", UniqueName("secret")},
                                 {"connector", "postgres"},
                                 {"settings", {{"url", "postgres://x:pw@127.0.0.1:1/x"}}},
                                 {"auth", {{"type", "none"}}}});
  ASSERT_EQ(c.status, 201) << c.body;

  std::string key = std::getenv("WEFT_SECRET_KEY");
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--db", pgtest::DbUrl()};
  unsetenv("WEFT_SECRET_KEY");
  auto none = RunWeft(args, 30s);
  setenv("WEFT_SECRET_KEY", std::string(64, '1').c_str(), 1);
  auto wrong = RunWeft(args, 30s);
  setenv("WEFT_SECRET_KEY", key.c_str(), 1);

  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.output.find("needs WEFT_SECRET_KEY"), std::string::npos) << none.output;
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.output.find("cannot decrypt"), std::string::npos) << wrong.output;
}

}  // namespace
}  // namespace weft::itest
