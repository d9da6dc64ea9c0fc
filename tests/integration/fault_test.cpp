// Hard faults: the real binary under a mixed load (webhooks with and without
// idempotency keys, manual runs whose http.request step calls a local
// server, a schedule firing every second) is killed with SIGKILL at 100
// random moments and restarted each time on the same data dir. Afterwards:
// every acknowledged run exists and succeeded; no idempotency key started two
// runs; no schedule fire time ran twice, and none was missed while the
// server was up; the local server saw no request that the run records do
// not account for; and SQLite's integrity check passes.
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/time_format.h"
#include "connectors/testing/child_server.h"
#include "harness.h"

namespace weft::itest {
namespace {

using SysClock = std::chrono::system_clock;

// What the load threads were told, shared with the test's checks.
struct Acks {
  std::mutex mu;
  std::set<std::string> runs;                 // run ids answered 202
  std::map<std::string, std::string> by_key;  // idempotency key -> first acknowledged run id
  std::vector<std::string> key_mismatches;    // a repeat answered with another run id
  int sent = 0;
};

// Sends webhooks until `stop`: every other one with an idempotency key, and
// every fourth repeats the last acknowledged key.
void SendWebhooks(const std::string& hook_url, const std::atomic<bool>& stop, Acks& acks,
                  int& next_key) {
  Client c("");
  std::string last_key;
  for (int i = 0; !stop.load(); ++i) {
    std::string key;
    if (i % 4 == 3 && !last_key.empty())
      key = last_key;
    else if (i % 2 == 1)
      key = "k-" + std::to_string(next_key++);
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (!key.empty()) headers.push_back("Idempotency-Key: " + key);
    auto r = c.Request("POST", hook_url, R"({"n": )" + std::to_string(i) + "}", headers, 3s);
    std::lock_guard<std::mutex> g(acks.mu);
    ++acks.sent;
    if (r.status != 202 || !r.json.is_object() || !r.json.contains("run_id")) continue;
    std::string run_id = r.json["run_id"];
    acks.runs.insert(run_id);
    if (key.empty()) continue;
    auto [it, first] = acks.by_key.emplace(key, run_id);
    if (!first && it->second != run_id)
      acks.key_mismatches.push_back(key + ": " + it->second + " then " + run_id);
    last_key = key;
  }
}

// Starts manual runs of `flow_id` until `stop`.
void StartManualRuns(const std::string& base, const std::string& flow_id,
                     const std::atomic<bool>& stop, Acks& acks) {
  Client c(base);
  while (!stop.load()) {
    auto r = c.Request("POST", "/api/v1/flows/" + flow_id + "/runs", "", {}, 3s);
    {
      std::lock_guard<std::mutex> g(acks.mu);
      ++acks.sent;
      if (r.status == 202 && r.json.contains("id"))
        acks.runs.insert(r.json["id"].get<std::string>());
    }
    std::this_thread::sleep_for(10ms);  // pacing, not a wait for work
  }
}

// Every run of a flow, read page by page, each with its steps.
std::vector<Json> AllRuns(const Client& api, const std::string& flow_id) {
  std::vector<Json> out;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    auto list = api.Get("/api/v1/runs?limit=1000&flow_id=" + flow_id +
                        (cursor.empty() ? "" : "&cursor=" + cursor));
    EXPECT_EQ(list.status, 200) << list.body;
    if (list.status != 200) break;
    for (const auto& row : list.json["runs"]) {
      auto full = api.Get("/api/v1/runs/" + row["id"].get<std::string>());
      if (full.status == 200) out.push_back(full.json);
    }
    cursor = GetString(list.json, "next_cursor");
    if (cursor.empty()) break;
  }
  return out;
}

TEST(FaultTest, AHundredKillNinesUnderMixedLoadLoseNothingAndDoubleNothing) {
  if (const char* db = std::getenv("WEFT_TEST_DB"); db && *db)
    GTEST_SKIP() << "SQLite data dirs only";
  weft::testing::ChildServer far(
      {weft::testing::SystemPython(), std::string(WEFT_TEST_SERVERS_DIR) + "/http_server.py"});
  ASSERT_GT(far.port(), 0) << far.error();
  const std::string far_url = "http://127.0.0.1:" + std::to_string(far.port());

  WeftServer server;
  ASSERT_TRUE(server.running());
  const Client& api = server.api();
  Json hook = CreateFlow(api, Json{{"name", UniqueName("fault-hook")},
                                   {"trigger", {{"type", "webhook"}}},
                                   {"steps", Json::parse(R"([{"id": "n", "uses": "data.set",
                                       "with": {"value": "{{ trigger.body.n }}"}}])")}});
  ASSERT_EQ(api.Post("/api/v1/flows/" + GetString(hook, "id") + "/activate").status, 200);
  const std::string hook_path =
      "/hooks/" +
      GetString(hook, "webhook_url").substr(GetString(hook, "webhook_url").rfind('/') + 1);
  const std::string far_name = UniqueName("far");
  auto conn = api.Post(
      "/api/v1/connections",
      Json{{"name", far_name}, {"connector", "http"}, {"settings", {{"base_url", far_url}}}});
  ASSERT_EQ(conn.status, 201) << conn.body;
  Json calls =
      CreateFlow(api, Json{{"name", UniqueName("fault-call")},
                           {"steps", Json::array({{{"id", "call"},
                                                   {"uses", "http.request"},
                                                   {"connection", far_name},
                                                   {"with",
                                                    {{"method", "POST"},
                                                     {"url", "/echo?run={{ run.id }}"},
                                                     {"body", {{"run", "{{ run.id }}"}}}}}}})}});
  Json tick = CreateFlow(
      api, Json{{"name", UniqueName("fault-tick")},
                {"trigger",
                 {{"type", "schedule"},
                  {"schedule", {{"kind", "cron"}, {"cron", "* * * * * *"}, {"misfire", "skip"}}}}},
                {"steps", Json::parse(R"([{"id": "t", "uses": "data.set",
                                       "with": {"value": "{{ trigger.scheduled_for }}"}}])")}});
  ASSERT_EQ(api.Post("/api/v1/flows/" + GetString(tick, "id") + "/activate").status, 200);

  Acks acks;
  int next_key = 0;
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> short_uptime_ms(0, 2500);
  std::uniform_int_distribution<int> long_uptime_ms(5000, 7000);
  // When the server was up for sure: from /healthz answering to the kill.
  std::vector<std::pair<SysClock::time_point, SysClock::time_point>> up;
  const int kKills = 100;
  for (int k = 0; k < kKills; ++k) {
    auto ready = SysClock::now();
    std::atomic<bool> stop{false};
    std::thread hooks([&] { SendWebhooks(server.base_url() + hook_path, stop, acks, next_key); });
    std::thread manual(
        [&] { StartManualRuns(server.base_url(), GetString(calls, "id"), stop, acks); });
    // The random moment; every tenth stays up long enough for the schedule
    // check below to have whole seconds of sure uptime.
    int ms = k % 10 == 9 ? long_uptime_ms(rng) : short_uptime_ms(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    auto killed = SysClock::now();
    server.Kill9();
    stop = true;
    hooks.join();
    manual.join();
    up.emplace_back(ready, killed);
    server.Start();
    ASSERT_TRUE(server.running()) << "restart " << k << " failed:\n" << server.Logs();
  }
  // A last stretch of steady running, so the schedule has a long window too.
  auto ready = SysClock::now();
  std::this_thread::sleep_for(6s);  // uptime for the schedule check, not a wait for work
  up.emplace_back(ready, SysClock::now());

  // 1. Every acknowledged run exists and succeeded.
  {
    std::lock_guard<std::mutex> g(acks.mu);
    EXPECT_TRUE(acks.key_mismatches.empty()) << acks.key_mismatches.front();
    EXPECT_GT(acks.runs.size(), 50u) << "the load hardly ran (" << acks.sent << " sent)";
    for (const auto& id : acks.runs) {
      Json run = WaitRunFinished(api, id, 60s);
      EXPECT_EQ(GetString(run, "status"), "succeeded") << id << ": " << run.dump();
    }
  }

  // 2. No idempotency key started two runs.
  std::map<std::string, int> runs_per_key;
  for (const Json& run : AllRuns(api, GetString(hook, "id"))) {
    Json headers = run.value("trigger", Json::object()).value("headers", Json::object());
    std::string key = headers.is_object() ? GetString(headers, "idempotency-key") : "";
    if (!key.empty()) ++runs_per_key[key];
  }
  for (const auto& [key, n] : runs_per_key)
    EXPECT_EQ(n, 1) << "key " << key << " started " << n << " runs";

  // 3. No fire time twice; none missed while the server was surely up (from
  //    2 s after /healthz answered, so the scheduler has loaded, to 2 s
  //    before the kill, so the fire was committed on a loaded machine).
  std::map<int64_t, int> fires;
  for (const Json& run : AllRuns(api, GetString(tick, "id"))) {
    auto at = ParseIso(GetString(run, "scheduled_for"));
    ASSERT_TRUE(at) << run.dump();
    ++fires[ToUnixMs(*at) / 1000];
  }
  for (const auto& [second, n] : fires)
    EXPECT_EQ(n, 1) << "fire time " << second << " ran " << n << " times";
  int expected = 0;
  for (const auto& [from, to] : up) {
    int64_t first =
        std::chrono::duration_cast<std::chrono::seconds>((from + 2s).time_since_epoch()).count() +
        1;
    int64_t last =
        std::chrono::duration_cast<std::chrono::seconds>((to - 2s).time_since_epoch()).count();
    for (int64_t s = first; s <= last; ++s) {
      ++expected;
      EXPECT_EQ(fires.count(s), 1u) << "fire time " << s << " missed while the server was up";
    }
  }
  EXPECT_GT(expected, 0) << "no window was long enough to check the schedule";

  // 4. The local server saw each request a run record accounts for, and no
  //    other: per run, requests seen <= the call step's recorded attempts
  //    (an attempt cut off by a kill before it sent anything is recorded but
  //    never seen), and a succeeded run was seen at least once.
  Client far_api(far_url);
  std::map<std::string, int> seen;
  for (const auto& req : far_api.Get("/__requests").json) {
    Json query = req.value("query", Json::object());
    if (GetString(req, "path") == "/echo" && query.is_object()) ++seen[GetString(query, "run")];
  }
  std::set<std::string> call_runs;
  for (const Json& run : AllRuns(api, GetString(calls, "id"))) {
    std::string id = GetString(run, "id");
    call_runs.insert(id);
    Json step = StepOf(run, "call");
    int attempts = step.is_object() ? step.value("attempts", 0) : 0;
    EXPECT_LE(seen[id], attempts) << id << " was called more often than its record says";
    if (GetString(run, "status") == "succeeded") EXPECT_GE(seen[id], 1) << id;
  }
  for (const auto& [id, n] : seen)
    EXPECT_TRUE(call_runs.count(id)) << "a request for run " << id << " that does not exist";

  // 5. The database is sound.
  ASSERT_EQ(server.Stop(), 0) << server.Logs();
  CommandResult check = [&] {
    CommandResult r;
    std::string cmd = "sqlite3 '" + server.data_dir() + "/weft.db' 'PRAGMA integrity_check' 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    r.exit_code = ::pclose(p);
    return r;
  }();
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output, "ok\n");
}

// A data dir on a small file system that fills up: webhooks are refused with
// 503 and Retry-After, /readyz says the store cannot take writes, a read of
// the runs either sees every acknowledged run or answers an error (never a
// short list), and once space returns weft recovers by itself and runs
// everything it acknowledged.
TEST(FaultTest, AFullDiskRefusesClearlyLosesNothingAndRecovers) {
  if (const char* db = std::getenv("WEFT_TEST_DB"); db && *db)
    GTEST_SKIP() << "SQLite data dirs only";
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root (CI runs as root)";
  WeftServer server;
  ASSERT_TRUE(server.running());
  ASSERT_EQ(server.Stop(), 0);
  const std::string dir = server.data_dir();
  std::filesystem::create_directories(dir);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=24m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{dir};
  server.Start();
  ASSERT_TRUE(server.running()) << server.Logs();
  const Client& api = server.api();
  Json hook = CreateFlow(api, Json{{"name", UniqueName("full-disk")},
                                   {"trigger", {{"type", "webhook"}}},
                                   {"steps", Json::parse(R"([{"id": "n", "uses": "data.set",
                                       "with": {"value": "{{ trigger.body.n }}"}}])")}});
  const std::string flow_id = GetString(hook, "id");
  ASSERT_EQ(api.Post("/api/v1/flows/" + flow_id + "/activate").status, 200);
  const std::string hook_url = GetString(hook, "webhook_url");
  const std::string hook_path = hook_url.substr(hook_url.find("/hooks/"));

  std::set<std::string> acked;
  auto send = [&](int n) {
    auto r = api.PostRaw(hook_path, R"({"n": )" + std::to_string(n) + "}", "application/json");
    if (r.status == 202) acked.insert(GetString(r.json, "run_id"));
    return r;
  };
  for (int i = 0; i < 20; ++i) ASSERT_EQ(send(i).status, 202);

  // Fill the file system to the last byte.
  const std::string filler = dir + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    std::string block(1 << 16, 'x');
    for (size_t size = block.size(); size > 0; size /= 2) {
      while (out.write(block.data(), static_cast<std::streamsize>(size)) && out.flush()) {
      }
      out.clear();
    }
  }

  int refused = 0;
  for (int i = 20; i < 70; ++i) {
    auto r = send(i);
    if (r.status == 202) continue;
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_FALSE(r.Header("retry-after").empty()) << "a refused webhook says when to come back";
    ++refused;
  }
  EXPECT_GT(refused, 0) << "nothing was refused on a full disk";

  auto ready = api.Get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.json["store"]["writable"], false) << ready.body;

  auto list = api.Get("/api/v1/runs?limit=1000&flow_id=" + flow_id);
  if (list.status == 200) {
    std::set<std::string> listed;
    for (const auto& r : list.json["runs"]) listed.insert(GetString(r, "id"));
    for (const auto& id : acked)
      EXPECT_TRUE(listed.count(id)) << "run " << id << " missing from a 200 list";
  } else {
    EXPECT_EQ(list.status, 503) << list.body;
  }

  // Space returns: weft recovers by itself.
  std::filesystem::remove(filler);
  EXPECT_TRUE(WaitFor([&] { return api.Get("/readyz").status == 200; }, 60s))
      << api.Get("/readyz").body;
  for (const auto& id : acked) {
    Json run = WaitRunFinished(api, id, 60s);
    EXPECT_EQ(GetString(run, "status"), "succeeded") << id << ": " << run.dump();
  }
  EXPECT_EQ(send(1000).status, 202);
  EXPECT_EQ(server.Stop(), 0) << server.Logs();
}

}  // namespace
}  // namespace weft::itest
