// Durability and process life: kill -9 in the middle of runs, restart on the
// same data dir, graceful SIGTERM, and refusing a data dir already in use.
#include <cstdlib>
#include <set>

#include "harness.h"

namespace weft::itest {
namespace {

Json DelayFlow(const std::string& name, const std::string& delay) {
  return Json::parse(R"({"name": ")" + name + R"(", "steps": [
      {"id": "before", "uses": "data.set", "with": {"value": {"run": "{{ run.id }}"}}},
      {"id": "wait", "uses": "flow.delay", "with": {"duration": ")" + delay + R"("}},
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
  Json flow = CreateFlow(server.api(), Json::parse(R"({"name": ")" + UniqueName("acked") + R"(", "steps": [
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

TEST(CrashTest, SigtermStopsCleanlyAndDataRemains) {
  WeftServer server;
  ASSERT_TRUE(server.running());
  Json flow = CreateFlow(server.api(), DelayFlow(UniqueName("term"), "10ms"));
  auto r = RunAndWait(server.api(), flow["id"]);
  EXPECT_EQ(r.json["status"], "succeeded") << r.body;
  EXPECT_EQ(server.Stop(), 0) << server.Logs();
  server.Start();
  EXPECT_EQ(server.api().Get("/api/v1/flows/" + GetString(flow, "id")).status, 200);
  EXPECT_EQ(server.api().Get("/api/v1/runs/" + GetString(r.json, "id")).json["status"], "succeeded");
}

TEST(CrashTest, ASecondServerOnTheSameDataDirIsRefused) {
  if (const char* db = std::getenv("WEFT_TEST_DB"); db && *db) GTEST_SKIP() << "SQLite data dirs only";
  WeftServer server;
  ASSERT_TRUE(server.running());
  auto second = RunWeft({"serve", "--listen", "127.0.0.1:0", "--data", server.data_dir()}, 20s);
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.output.find("in use"), std::string::npos) << second.output;
  EXPECT_EQ(server.api().Get("/healthz").status, 200);
}

TEST(CrashTest, BadFlagsExitWithAClearMessage) {
  auto r = RunWeft({"serve", "--workers", "zero"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--workers"), std::string::npos) << r.output;
  r = RunWeft({"serve", "--listen", "nonsense", "--data", "/tmp/weft-itest-never"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("nonsense"), std::string::npos) << r.output;
  r = RunWeft({"serve", "--timezone", "Mars/Olympus", "--data", "/tmp/weft-itest-never"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("Mars/Olympus"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace weft::itest
