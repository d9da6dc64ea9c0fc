// Durability and process life: kill -9 in the middle of runs, restart on the
// same data dir, graceful SIGTERM, and refusing a data dir already in use.
#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"

namespace weft::itest {
namespace {

Json DelayFlow(const std::string& name, const std::string& delay) {
  return Json::parse(R"({"name": ")" + name + R"(", "steps": [
      {"id": "before", "uses": "data.set", "with": {"value": {"run": "{{ run.id }}"}}},
      {"id": "wait", "uses": "flow.delay", "with": {"duration": ")" +
                     delay + R"("}},
      {"id": "after", "uses": "data.set", "with": {"value": "after {{ steps.before.output.run }}"}}]})");
}

TEST(CrashTest, KillNineDuringADelayThenRestartFinishesTheRunWithEveryStepOnce) {
  WeftServer server;
  ASSERT_TRUE(server.running());
  Json flow = CreateFlow(server.api(), DelayFlow(UniqueName("crash"), "2s"));
  std::string flow_id = flow["id"];
  auto started = server.api().Post("/api/v1/flows/" + flow_id + "/runs");
  ASSERT_EQ(started.status, 202) << started.body;
  std::string id = started.json["id"];
  ASSERT_TRUE(WaitFor([&] {
    Json run = server.api().Get("/api/v1/runs/" + id).json;
    return GetString(StepOf(run, "before"), "status") == "succeeded" &&
           GetString(StepOf(run, "wait"), "status") == "running";
  })) << server.api().Get("/api/v1/runs/" + id).body;

  server.Kill9();
  server.Start();
  ASSERT_TRUE(server.running());

  Json run = WaitRunFinished(server.api(), id, 30s);
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  ASSERT_EQ(run["steps"].size(), 3u) << run.dump(2);
  std::set<std::string> paths;
  for (const auto& s : run["steps"]) {
    EXPECT_TRUE(paths.insert(GetString(s, "path")).second) << "step twice: " << s.dump();
    EXPECT_EQ(s["status"], "succeeded");
  }
  EXPECT_EQ(StepOf(run, "before")["attempts"], 1) << "a finished step ran again";
  EXPECT_EQ(StepOf(run, "after")["output"], "after " + id);
  auto runs = server.api().Get("/api/v1/runs?flow_id=" + flow_id);
  EXPECT_EQ(runs.json["runs"].size(), 1u) << "the run was duplicated";
}

TEST(CrashTest, EveryAcknowledgedRunSurvivesAKillNine) {
  WeftServer server;
  ASSERT_TRUE(server.running());
  Json flow =
      CreateFlow(server.api(), Json::parse(R"({"name": ")" + UniqueName("acked") + R"(", "steps": [
      {"id": "a", "uses": "data.set", "with": {"value": 1}},
      {"id": "b", "uses": "data.set", "with": {"value": "{{ steps.a.output + 1 }}"}}]})"));
  std::string flow_id = flow["id"];
  std::set<std::string> acked;
  for (int i = 0; i < 30; ++i) {
    auto r = server.api().Post("/api/v1/flows/" + flow_id + "/runs");
    ASSERT_EQ(r.status, 202) << r.body;
    acked.insert(GetString(r.json, "id"));
  }
  server.Kill9();
  server.Start();
  ASSERT_TRUE(server.running());
  for (const auto& id : acked) {
    Json run = WaitRunFinished(server.api(), id, 30s);
    EXPECT_EQ(run["status"], "succeeded") << id << ": " << run.dump();
    EXPECT_EQ(StepOf(run, "b")["output"], 2);
  }
  auto list = server.api().Get("/api/v1/runs?limit=1000&flow_id=" + flow_id);
  EXPECT_EQ(list.json["runs"].size(), acked.size());
}

// Webhooks in accepted mode answer 202 once the run is durable (with SQLite:
// appended to the store's webhook journal, imported a moment later). A kill
// -9 while senders pour requests in loses none that was answered 202, and
// the restart starts each once.
TEST(CrashTest, EveryAcceptedWebhookSurvivesAKillNineAndRunsOnce) {
  WeftServer server;
  ASSERT_TRUE(server.running());
  Json flow = CreateFlow(server.api(), Json::parse(R"({"name": ")" + UniqueName("hooked") + R"(",
      "trigger": {"type": "webhook"},
      "steps": [{"id": "a", "uses": "data.set", "with": {"value": "{{ trigger.body.n }}"}}]})"));
  std::string flow_id = flow["id"];
  ASSERT_EQ(server.api().Post("/api/v1/flows/" + flow_id + "/activate").status, 200);
  std::string url = flow["webhook_url"];
  std::string path = url.substr(url.find("/hooks/"));

  constexpr int kSenders = 8;
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::mutex mu;
  std::map<std::string, int> acked;  // run id -> the n it carried
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&] {
      while (!stop.load()) {
        int n = ++sent;
        auto r = server.api().Request("POST", path, R"({"n":)" + std::to_string(n) + "}",
                                      {"Content-Type: application/json"}, 5s);
        if (r.status != 202) continue;
        std::lock_guard lock(mu);
        acked[r.json.value("run_id", "")] = n;
      }
    });
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return acked.size() >= 600;
      },
      60s));
  server.Kill9();  // the senders are still sending
  stop = true;
  for (auto& t : senders) t.join();
  ASSERT_LT(acked.size(), 1000u) << "more than one page of runs";

  server.Start();
  ASSERT_TRUE(server.running());
  for (const auto& [id, n] : acked) {
    Json run = WaitRunFinished(server.api(), id, 60s);
    EXPECT_EQ(run["status"], "succeeded") << id << ": " << run.dump();
    EXPECT_EQ(StepOf(run, "a")["output"], n) << id;
  }
  auto list = server.api().Get("/api/v1/runs?limit=1000&flow_id=" + flow_id);
  size_t runs = list.json["runs"].size();
  // Requests in flight at the kill may have been taken in without their 202
  // reaching the sender: at most one per sender.
  EXPECT_GE(runs, acked.size());
  EXPECT_LE(runs, acked.size() + kSenders);
  std::set<std::string> ids;
  for (const auto& r : list.json["runs"]) ids.insert(r["id"].get<std::string>());
  EXPECT_EQ(ids.size(), runs) << "a run listed twice";
  auto deliveries = server.api().Get("/api/v1/deliveries?limit=1000&flow_id=" + flow_id);
  EXPECT_EQ(deliveries.json["deliveries"].size(), runs);
}

TEST(CrashTest, SigtermStopsCleanlyAndDataRemains) {
  WeftServer server;
  ASSERT_TRUE(server.running());
  Json flow = CreateFlow(server.api(), DelayFlow(UniqueName("term"), "10ms"));
  auto r = RunAndWait(server.api(), flow["id"]);
  EXPECT_EQ(r.json["status"], "succeeded") << r.body;
  EXPECT_EQ(server.Stop(), 0) << server.Logs();
  server.Start();
  EXPECT_EQ(server.api().Get("/api/v1/flows/" + GetString(flow, "id")).status, 200);
  EXPECT_EQ(server.api().Get("/api/v1/runs/" + GetString(r.json, "id")).json["status"],
            "succeeded");
}

TEST(CrashTest, ASecondServerOnTheSameDataDirIsRefused) {
  if (const char* db = std::getenv("WEFT_TEST_DB"); db && *db)
    GTEST_SKIP() << "SQLite data dirs only";
  WeftServer server;
  ASSERT_TRUE(server.running());
  auto second = RunWeft({"serve", "--listen", "127.0.0.1:0", "--data", server.data_dir()}, 20s);
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.output.find("in use"), std::string::npos) << second.output;
  EXPECT_EQ(server.api().Get("/healthz").status, 200);
}

// A start refused for a flag also leaves nothing behind: the data dir (its
// database, its secret key) is not created before the flags are checked.
TEST(CrashTest, BadFlagsExitWithAClearMessage) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "weft-itest-flags-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string data = tmpl + "/data";
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--workers", "zero"}, "--workers"},
      {{"--listen", "nonsense"}, "nonsense"},
      {{"--listen", "127.0.0.1:99999"}, "99999"},
      {{"--listen", "not-an-ip:0"}, "not-an-ip"},
      {{"--timezone", "Mars/Olympus"}, "Mars/Olympus"},
      {{"--lease", "10ms"}, "--lease"},
      {{"--max-step-output", "lots"}, "--max-step-output"},
      {{"--retain-deliveries", "soon"}, "--retain-deliveries"},
      {{"--retain-runs", "forever"}, "--retain-runs"},
      {{"--retention-interval", "1ms"}, "--retention-interval"},
  };
  for (const auto& [flags, named] : refused) {
    std::vector<std::string> args = {"serve", "--data", data};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = RunWeft(args, 20s);
    EXPECT_NE(r.exit_code, 0) << flags[0] << " " << flags[1] << ": " << r.output;
    EXPECT_NE(r.output.find(named), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("listening on"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(data))
        << flags[0] << " " << flags[1] << " created " << data;
    std::error_code ec;
    std::filesystem::remove_all(data, ec);  // so one failure does not hide the next flag's
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace weft::itest
