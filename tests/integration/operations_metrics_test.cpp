// Running weft in production over the real binary: GET
// /metrics moves as runs, webhooks and schedule fires happen, with bounded
// labels (route templates, never ids or tokens); --metrics=false turns it
// off; GET /readyz; `weft backup` while runs are being created, then `weft
// restore` into a new data dir and a server on it holding what the backup
// must hold.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

namespace weft::itest {
namespace {

namespace fs = std::filesystem;

bool OnPostgres() {
  const char* db = std::getenv("WEFT_TEST_DB");
  return db && *db;
}

// "name{labels}" -> value, from the text exposition.
using Samples = std::map<std::string, double>;

Samples Scrape(const Client& api, std::string* text = nullptr) {
  auto r = api.Get("/metrics");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.Header("content-type").find("text/plain"), std::string::npos);
  if (text) *text = r.body;
  Samples out;
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

double Get(const Samples& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? 0 : it->second;
}

double Delta(const Samples& before, const Samples& after, const std::string& key) {
  return Get(after, key) - Get(before, key);
}

Json ManualDoc(const std::string& name, const std::string& steps_json) {
  return Json::parse(R"({"name": ")" + name + R"(", "trigger": {"type": "manual"}, "steps": )" +
                     steps_json + "}");
}

std::string Activate(const Client& api, const Json& flow) {
  std::string id = GetString(flow, "id");
  auto r = api.Post("/api/v1/flows/" + id + "/activate");
  EXPECT_EQ(r.status, 200) << r.body;
  return id;
}

// Every run of a flow (paging with the cursor).
std::vector<Json> AllRuns(const Client& api, const std::string& flow_id) {
  std::vector<Json> out;
  std::string cursor;
  for (;;) {
    auto r = api.Get("/api/v1/runs?limit=1000&flow_id=" + flow_id +
                     (cursor.empty() ? "" : "&cursor=" + cursor));
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return out;
    for (const auto& run : r.json["runs"]) out.push_back(run);
    cursor = r.json.value("next_cursor", Json(nullptr)).is_string()
                 ? r.json["next_cursor"].get<std::string>()
                 : "";
    if (cursor.empty()) return out;
  }
}

bool AllFinished(const std::vector<Json>& runs) {
  return std::all_of(runs.begin(), runs.end(), [](const Json& r) {
    std::string s = GetString(r, "status");
    return s != "queued" && s != "running";
  });
}

TEST_F(WeftTest, MetricsMoveWithRunsWebhooksAndScheduleFires) {
  Samples before = Scrape(api());

  // Manual runs: two that succeed, one that fails.
  Json good = CreateFlow(
      api(),
      ManualDoc(UniqueName("good"), R"([{"id": "a", "uses": "data.set", "with": {"value": 1}}])"));
  Json bad = CreateFlow(
      api(), ManualDoc(UniqueName("bad"),
                       R"([{"id": "boom", "uses": "flow.fail", "with": {"message": "no"}}])"));
  for (int i = 0; i < 2; ++i) ASSERT_EQ(RunAndWait(api(), good["id"]).json["status"], "succeeded");
  ASSERT_EQ(RunAndWait(api(), bad["id"]).json["status"], "failed");

  // A webhook (accepted mode) and a request to a token that does not exist.
  Json hook = CreateFlow(
      api(),
      Json{
          {"name", UniqueName("hook")},
          {"trigger", {{"type", "webhook"}, {"webhook", Json::object()}}},
          {"steps",
           Json::parse(
               R"([{"id": "echo", "uses": "data.set", "with": {"value": "{{ trigger.body.x }}"}}])")}});
  std::string hook_id = Activate(api(), hook);
  std::string url = GetString(hook, "webhook_url");
  std::string hook_path = url.substr(url.find("/hooks/"));
  std::string token = hook_path.substr(std::string("/hooks/").size());
  auto sent = api().PostRaw(hook_path, R"({"x": 7})", "application/json");
  ASSERT_EQ(sent.status, 202) << sent.body;
  WaitRunFinished(api(), GetString(sent.json, "run_id"));
  EXPECT_EQ(api().PostRaw("/hooks/no-such-token-at-all", "{}", "application/json").status, 404);

  // A schedule firing every second, stopped after a few fires.
  Json sched = CreateFlow(
      api(),
      Json{{"name", UniqueName("tick")},
           {"trigger",
            {{"type", "schedule"}, {"schedule", {{"kind", "cron"}, {"cron", "* * * * * *"}}}}},
           {"steps", Json::parse(R"([{"id": "n", "uses": "data.set", "with": {"value": 1}}])")}});
  std::string sched_id = Activate(api(), sched);
  ASSERT_TRUE(WaitFor([&] { return AllRuns(api(), sched_id).size() >= 2; }, 15s))
      << server().Logs();
  ASSERT_EQ(api().Post("/api/v1/flows/" + sched_id + "/deactivate").status, 200);
  std::vector<Json> fired;
  ASSERT_TRUE(WaitFor(
      [&] {
        fired = AllRuns(api(), sched_id);
        return AllFinished(fired);
      },
      15s));

  std::string text;
  Samples after = Scrape(api(), &text);
  const double n_fired = static_cast<double>(fired.size());
  EXPECT_EQ(Delta(before, after, R"(weft_runs_total{status="succeeded",trigger="manual"})"), 2)
      << text;
  EXPECT_EQ(Delta(before, after, R"(weft_runs_total{status="failed",trigger="manual"})"), 1)
      << text;
  EXPECT_EQ(Delta(before, after, R"(weft_runs_total{status="succeeded",trigger="webhook"})"), 1)
      << text;
  EXPECT_EQ(Delta(before, after, R"(weft_runs_total{status="succeeded",trigger="schedule"})"),
            n_fired)
      << text;
  EXPECT_EQ(Delta(before, after, "weft_run_duration_seconds_count"), 4 + n_fired) << text;
  EXPECT_EQ(Delta(before, after, R"(weft_step_duration_seconds_count{uses="data.set"})"),
            3 + n_fired)
      << text;
  EXPECT_EQ(Delta(before, after, R"(weft_step_duration_seconds_count{uses="flow.fail"})"), 1)
      << text;
  EXPECT_EQ(Delta(before, after, R"(weft_webhook_requests_total{code="202"})"), 1) << text;
  EXPECT_EQ(Delta(before, after, R"(weft_webhook_requests_total{code="404"})"), 1) << text;
  EXPECT_EQ(Delta(before, after, "weft_schedule_fires_total"), n_fired) << text;
  EXPECT_EQ(Delta(before, after, "weft_schedule_lag_seconds_count"), n_fired) << text;
  EXPECT_EQ(Delta(before, after, "weft_schedule_missed_total"), 0) << text;
  EXPECT_GT(Delta(before, after, "weft_store_write_seconds_count"), 0) << text;
  // HTTP by route template; the UI's files under one label.
  EXPECT_GE(Delta(before, after,
                  R"(weft_http_request_duration_seconds_count{route="/api/v1/flows/{id}/runs"})"),
            3)
      << text;
  EXPECT_GE(
      Delta(before, after, R"(weft_http_request_duration_seconds_count{route="/hooks/{token}"})"),
      1)
      << text;
  EXPECT_EQ(api().Get("/some/ui/page").status, 200);
  EXPECT_GE(Get(Scrape(api()), R"(weft_http_request_duration_seconds_count{route="static"})"), 1);
  // Read at scrape time.
  EXPECT_GT(Get(after, "process_resident_memory_bytes"), 1e6) << text;
  EXPECT_GE(Get(after, "weft_http_open_connections"), 1) << text;
  if (!OnPostgres()) {
    EXPECT_EQ(Get(after, "weft_scheduler_held"), 1) << text;
  }
  EXPECT_TRUE(after.count("weft_runs_queued")) << text;
  EXPECT_TRUE(after.count("weft_oldest_queued_run_age_seconds")) << text;

  // Labels are bounded: no flow id, run id or webhook token anywhere.
  for (const std::string& secretish : {GetString(good, "id"), GetString(bad, "id"), hook_id,
                                       sched_id, token, GetString(sent.json, "run_id")}) {
    EXPECT_EQ(text.find(secretish), std::string::npos) << secretish << " appears in /metrics";
  }
  EXPECT_EQ(text.find("no-such-token"), std::string::npos);
}

TEST(OperationsTest, QueueGaugesShowWaitingRuns) {
  if (OnPostgres()) GTEST_SKIP() << "a shared database holds other tests' runs";
  // A node without the workers role: its runs wait, queued.
  WeftServer s({"--roles", "api,webhooks,scheduler"});
  Json flow = CreateFlow(
      s.api(),
      ManualDoc(UniqueName("wait"), R"([{"id": "a", "uses": "data.set", "with": {"value": 1}}])"));
  Samples empty = Scrape(s.api());
  EXPECT_EQ(Get(empty, "weft_runs_queued"), 0);
  EXPECT_EQ(Get(empty, "weft_oldest_queued_run_age_seconds"), 0);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(s.api().Post("/api/v1/flows/" + GetString(flow, "id") + "/runs").status, 202);
  std::this_thread::sleep_for(1100ms);  // the age to observe, not a wait for work
  Samples queued = Scrape(s.api());
  EXPECT_EQ(Get(queued, "weft_runs_queued"), 3);
  EXPECT_GE(Get(queued, "weft_oldest_queued_run_age_seconds"), 1.0);
  EXPECT_LT(Get(queued, "weft_oldest_queued_run_age_seconds"), 60.0);
  auto ready = s.api().Get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.json["roles"], Json::array({"api", "webhooks", "scheduler"})) << ready.body;
}

TEST_F(WeftTest, ReadyzReportsStoreRolesAndScheduler) {
  auto r = api().Get("/readyz");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["ready"], true) << r.body;
  EXPECT_EQ(r.json["store"]["reachable"], true) << r.body;
  EXPECT_GE(r.json["store"]["schema_version"].get<int>(), 4) << r.body;
  EXPECT_EQ(r.json["store"]["migrations_applied"], true) << r.body;
  std::set<std::string> roles;
  for (const auto& role : r.json["roles"]) roles.insert(role.get<std::string>());
  EXPECT_EQ(roles, (std::set<std::string>{"api", "webhooks", "scheduler", "workers"})) << r.body;
  if (!OnPostgres()) {
    EXPECT_EQ(r.json["scheduler"]["held"], true) << r.body;
  }
  EXPECT_EQ(api().Get("/healthz").status, 200);
}

TEST(OperationsTest, MetricsOffAnswers404AndWeftStillWorks) {
  WeftServer s({"--metrics=false"});
  auto m = s.api().Get("/metrics");
  EXPECT_EQ(m.status, 404) << m.body;
  EXPECT_NE(m.body.find("--metrics=false"), std::string::npos) << m.body;
  Json flow = CreateFlow(
      s.api(),
      ManualDoc(UniqueName("off"), R"([{"id": "a", "uses": "data.set", "with": {"value": 1}}])"));
  EXPECT_EQ(RunAndWait(s.api(), flow["id"]).json["status"], "succeeded");
  EXPECT_EQ(s.api().Get("/readyz").status, 200);
}

TEST(OperationsTest, BackupUnderLoadRestoresWhatWasAcknowledged) {
  if (OnPostgres()) GTEST_SKIP() << "weft backup copies the SQLite store (PostgreSQL: pg_dump)";
  WeftServer a;
  Json flow = CreateFlow(
      a.api(),
      ManualDoc(UniqueName("load"),
                R"([{"id": "a", "uses": "data.set", "with": {"value": "{{ trigger }}"}}])"));
  std::string flow_id = GetString(flow, "id");
  std::string backup = a.temp_dir() + "/weft-backup.db";

  // Four clients start manual runs without pause while the backup is taken.
  std::mutex mu;
  std::vector<std::string> acked;  // in acknowledgement order
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop) {
        auto r = a.api().Post("/api/v1/flows/" + flow_id + "/runs", Json{{"n", 1}});
        if (r.status != 202 && r.status != 200) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        acked.push_back(GetString(r.json, "id"));
      }
    });
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return acked.size() >= 200;
      },
      30s));
  std::set<std::string> acked_before;
  {
    std::lock_guard lock(mu);
    acked_before.insert(acked.begin(), acked.end());
  }
  CommandResult b = RunWeft({"backup", backup, "--data", a.data_dir()});
  size_t acked_after_backup;
  {
    std::lock_guard lock(mu);
    acked_after_backup = acked.size();
  }
  // More runs land after the backup ended: those must not be in it. (Not an
  // absence check on time: the senders keep going for 300 ms, so some do.)
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_NE(b.output.find("backup written to"), std::string::npos) << b.output;
  EXPECT_EQ(failures.load(), 0);
  size_t acked_total = acked.size();
  EXPECT_GT(acked_total, acked_after_backup) << "the load went on after the backup";

  // A second backup to the same file is refused without --force.
  CommandResult again = RunWeft({"backup", backup, "--data", a.data_dir()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;
  // PostgreSQL is pointed to pg_dump.
  CommandResult pg = RunWeft({"backup", backup, "--db", "postgres://localhost/weft"});
  EXPECT_NE(pg.exit_code, 0);
  EXPECT_NE(pg.output.find("pg_dump"), std::string::npos) << pg.output;

  // Restore refuses a data dir that is not empty, with a clear message.
  CommandResult busy = RunWeft({"restore", backup, "--data", a.data_dir()});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.output.find("not empty"), std::string::npos) << busy.output;

  // Restore into a new data dir, then serve it.
  WeftServer b_server;  // its own temp dir; stopped and refilled from the backup
  b_server.Stop();
  fs::remove_all(b_server.data_dir());
  CommandResult r = RunWeft({"restore", backup, "--data", b_server.data_dir(), "--secret-key",
                             a.data_dir() + "/secret.key"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("restored"), std::string::npos) << r.output;
  b_server.Restart();

  auto flows = b_server.api().Get("/api/v1/flows");
  ASSERT_EQ(flows.status, 200);
  EXPECT_EQ(flows.json["flows"].size(), 1u) << flows.body;
  std::vector<Json> restored = AllRuns(b_server.api(), flow_id);
  std::set<std::string> restored_ids;
  for (const auto& run : restored) restored_ids.insert(GetString(run, "id"));
  EXPECT_EQ(restored_ids.size(), restored.size());
  // Every run acknowledged before the backup began is in it; nothing
  // acknowledged after it ended is.
  size_t missing = 0;
  for (const auto& id : acked_before) missing += !restored_ids.count(id);
  EXPECT_EQ(missing, 0u) << "of " << acked_before.size() << " runs acknowledged before the backup";
  // A run committed before the snapshot may have reached its client only
  // after `weft backup` returned: at most one per client.
  const size_t kClients = 4;
  EXPECT_LE(restored.size(), acked_after_backup + kClients);
  for (size_t i = acked_after_backup + kClients; i < acked_total; ++i)
    EXPECT_FALSE(restored_ids.count(acked[i]))
        << acked[i] << " was acknowledged after the backup ended";
  // Consistent: the restored server finishes every run it holds, each with its step.
  ASSERT_TRUE(WaitFor([&] { return AllFinished(AllRuns(b_server.api(), flow_id)); }, 60s));
  for (const auto& run : AllRuns(b_server.api(), flow_id))
    EXPECT_EQ(GetString(run, "status"), "succeeded") << run.dump();
  Json sample = b_server.api().Get("/api/v1/runs/" + *acked_before.begin()).json;
  EXPECT_EQ(sample["steps"].size(), 1u) << sample.dump();
}

}  // namespace
}  // namespace weft::itest
