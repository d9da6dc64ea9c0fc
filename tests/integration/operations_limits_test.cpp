// Operations, end to end on the real binary: failure
// alerts (settings.error_flow, --error-flow), limits (settings.max_concurrency,
// settings.timeout, --max-queued) and retention (--retain-runs,
// settings.retention).
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"

namespace weft::itest {
namespace {

Json Step(const std::string& id, const std::string& uses, Json with) {
  return Json{{"id", id}, {"uses", uses}, {"with", std::move(with)}};
}

Json Doc(const std::string& name, Json steps, Json settings = Json::object(),
         Json trigger = Json()) {
  Json d = {{"name", name}, {"steps", std::move(steps)}};
  d["trigger"] = trigger.is_null() ? Json{{"type", "manual"}} : trigger;
  if (!settings.empty()) d["settings"] = std::move(settings);
  return d;
}

// Every run of a flow, newest first.
Json RunsOf(const Client& api, const std::string& flow_id) {
  auto r = api.Get("/api/v1/runs?limit=1000&flow_id=" + flow_id);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json.value("runs", Json::array());
}

std::string StartRun(const Client& api, const std::string& flow_id,
                     const Json& input = Json::object()) {
  auto r = api.Post("/api/v1/flows/" + flow_id + "/runs", Json{{"input", input}});
  EXPECT_EQ(r.status, 202) << r.body;
  return r.json.value("id", "");
}

TEST(OperationsLimitsTest, AFailingFlowTriggersItsErrorFlowOnceWithTheFailure) {
  WeftServer server;
  const Client& api = server.api();
  // The error flow is not active: it runs anyway.
  std::string alerts_name = UniqueName("alerts");
  Json alerts = CreateFlow(
      api,
      Doc(alerts_name, Json::array({Step("note", "data.set", {{"value", "{{ trigger.body }}"}})})));
  Json breaks = CreateFlow(
      api, Doc(UniqueName("breaks"),
               Json::array({Step("ok", "data.set", {{"value", 1}}),
                            Step("explode", "flow.fail", {{"message", "boom at the warehouse"}})}),
               Json{{"error_flow", alerts_name}}));
  auto failed = RunAndWait(api, breaks["id"]);
  ASSERT_EQ(failed.json["status"], "failed") << failed.body;
  const std::string failed_id = failed.json["id"];

  ASSERT_TRUE(WaitFor([&] { return !RunsOf(api, alerts["id"]).empty(); })) << server.Logs();
  Json error_run = WaitRunFinished(api, RunsOf(api, alerts["id"])[0]["id"]);
  EXPECT_EQ(error_run["status"], "succeeded") << error_run.dump();
  EXPECT_EQ(error_run["trigger_type"], "error");
  const Json& body = error_run["trigger"]["body"];
  EXPECT_EQ(body["run_id"], failed_id);
  EXPECT_EQ(body["flow_id"], breaks["id"]);
  EXPECT_EQ(body["flow_name"], breaks["name"]);
  EXPECT_EQ(body["failed_step"], "explode");
  EXPECT_NE(body["error"].get<std::string>().find("boom at the warehouse"), std::string::npos)
      << body.dump();
  EXPECT_EQ(body["started_at"], failed.json["started_at"]);
  EXPECT_EQ(body["url"], server.base_url() + "/runs/" + failed_id);
  // The error flow's step saw the body.
  EXPECT_EQ(StepOf(error_run, "note")["output"]["run_id"], failed_id);

  // Exactly once: nothing more shows up, and a succeeding run starts none.
  // A second error run would be queued as the failed run finished (above) and
  // started by an idle worker within milliseconds; 1.5 s is ample to see it.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(RunsOf(api, alerts["id"]).size(), 1u);
}

TEST(OperationsLimitsTest, AFailingErrorFlowTriggersNothing) {
  // --error-flow makes it every flow's error flow, its own included.
  std::string alerts_name = UniqueName("alerts-broken");
  WeftServer server({"--error-flow", alerts_name});
  const Client& api = server.api();
  Json alerts = CreateFlow(
      api, Doc(alerts_name,
               Json::array({Step("fail", "flow.fail", {{"message", "mail server down"}})})));
  Json breaks = CreateFlow(
      api, Doc(UniqueName("breaks"), Json::array({Step("explode", "flow.fail", Json::object())})));
  ASSERT_EQ(RunAndWait(api, breaks["id"]).json["status"], "failed");

  ASSERT_TRUE(WaitFor([&] {
    Json runs = RunsOf(api, alerts["id"]);
    return !runs.empty() && runs[0]["status"] == "failed";
  })) << server.Logs();
  // A run of the error flow for its own failure would be queued as that run
  // finished (above); 1.5 s is ample for it to show up if it existed.
  std::this_thread::sleep_for(1500ms);
  Json runs = RunsOf(api, alerts["id"]);
  ASSERT_EQ(runs.size(), 1u) << runs.dump();  // its failure started no run of itself
  EXPECT_EQ(runs[0]["trigger_type"], "error");
  EXPECT_EQ(RunsOf(api, breaks["id"]).size(), 1u);
}

TEST(OperationsLimitsTest, SettingsAreValidatedWithTheirPath) {
  WeftServer server;
  Json doc = Doc(UniqueName("bad-settings"), Json::array({Step("a", "data.set", {{"value", 1}})}),
                 Json{{"error_flow", 7},
                      {"max_concurrency", 0},
                      {"timeout", "soon"},
                      {"retention", {{"runs", "30d"}, {"keep", -1}, {"forever", true}}}});
  auto r = server.api().Post("/api/v1/flows", doc);
  ASSERT_EQ(r.status, 400) << r.body;
  auto paths = ErrorPaths(r.json);
  std::set<std::string> got(paths.begin(), paths.end());
  for (const char* p : {"settings.error_flow", "settings.max_concurrency", "settings.timeout",
                        "settings.retention.keep", "settings.retention.forever"})
    EXPECT_TRUE(got.count(p)) << p << " in " << r.body;
  EXPECT_FALSE(got.count("settings.retention.runs")) << r.body;
}

TEST(OperationsLimitsTest, MaxConcurrencyOneKeepsRunsFromOverlapping) {
  WeftServer server({"--workers", "4"});
  const Client& api = server.api();
  Json flow = CreateFlow(
      api, Doc(UniqueName("one-at-a-time"),
               Json::array({Step("wait", "flow.delay", {{"duration", "700ms"}}),
                            Step("done", "data.set", {{"value", "{{ trigger.body.n }}"}})}),
               Json{{"max_concurrency", 1}}));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(StartRun(api, flow["id"], Json{{"n", i}}));
  // While the first runs, the others wait queued.
  ASSERT_TRUE(
      WaitFor([&] { return api.Get("/api/v1/runs/" + ids[0]).json["status"] == "running"; }));
  EXPECT_EQ(api.Get("/api/v1/runs/" + ids[1]).json["status"], "queued");
  EXPECT_EQ(api.Get("/api/v1/runs/" + ids[2]).json["status"], "queued");

  std::vector<Json> runs;
  for (const auto& id : ids) runs.push_back(WaitRunFinished(api, id, 30s));
  std::vector<std::pair<std::string, std::string>> spans;  // ISO times in UTC compare as strings
  for (const auto& run : runs) {
    ASSERT_EQ(run["status"], "succeeded") << run.dump();
    spans.emplace_back(StepOf(run, "wait")["started_at"], StepOf(run, "done")["finished_at"]);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    EXPECT_GE(spans[i].first, spans[i - 1].second)
        << "run " << i << " started before the one before it finished";
}

TEST(OperationsLimitsTest, MaxQueuedAnswers429AndEveryAcceptedRequestRuns) {
  WeftServer server({"--max-queued", "5", "--workers", "2"});
  const Client& api = server.api();
  // One at a time, each a little slow: a burst piles up in the queue.
  Json flow = CreateFlow(
      api, Doc(UniqueName("burst"),
               Json::array({Step("wait", "flow.delay", {{"duration", "100ms"}}),
                            Step("echo", "data.set", {{"value", "{{ trigger.body.i }}"}})}),
               Json{{"max_concurrency", 1}}, Json{{"type", "webhook"}}));
  ASSERT_EQ(api.Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status, 200);
  const std::string url = flow["webhook_url"];
  const std::string path = url.substr(url.find("/hooks/"));

  constexpr int kRequests = 40;
  std::mutex mu;
  std::vector<std::string> accepted;
  int refused = 0, refused_with_retry_after = 0, other = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i)
    threads.emplace_back([&, i] {
      auto r = api.PostRaw(path, Json{{"i", i}}.dump(), "application/json");
      std::lock_guard g(mu);
      if (r.status == 202)
        accepted.push_back(r.json["run_id"]);
      else if (r.status == 429) {
        ++refused;
        if (!r.Header("retry-after").empty()) ++refused_with_retry_after;
      } else {
        ++other;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(other, 0);
  EXPECT_GT(refused, 0);
  EXPECT_EQ(refused_with_retry_after, refused);
  EXPECT_GE(accepted.size(), 5u);
  // A manual run is refused the same way while the queue is full.
  if (api.Get("/api/v1/runs?status=queued&flow_id=" + flow["id"].get<std::string>())
          .json["runs"]
          .size() >= 5) {
    auto manual = api.Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/runs",
                           Json{{"input", {{"i", -1}}}});
    if (manual.status == 202)
      accepted.push_back(manual.json["id"]);
    else
      EXPECT_EQ(manual.status, 429) << manual.body;
  }
  // Nothing acknowledged is dropped.
  for (const auto& id : accepted)
    EXPECT_EQ(WaitRunFinished(api, id, 60s)["status"], "succeeded") << id;
  // Once drained, requests are accepted again.
  EXPECT_EQ(api.PostRaw(path, "{}", "application/json").status, 202);
}

// A full queue refuses only what would start a run: a repeated idempotency
// key starts nothing, so it is answered as any repeat, with the first run.
TEST(OperationsLimitsTest, MaxQueuedStillAnswersARepeatedKeyWithItsFirstRun) {
  // No workers: what is queued stays queued, so the queue surely fills.
  WeftServer server({"--max-queued", "3", "--roles", "api,webhooks"});
  const Client& api = server.api();
  Json flow = CreateFlow(
      api, Doc(UniqueName("full-queue"),
               Json::array({Step("echo", "data.set", {{"value", "{{ trigger.body.i }}"}})}),
               Json::object(), Json{{"type", "webhook"}}));
  const std::string flow_id = flow["id"];
  ASSERT_EQ(api.Post("/api/v1/flows/" + flow_id + "/activate").status, 200);
  const std::string url = flow["webhook_url"];
  const std::string path = url.substr(url.find("/hooks/"));
  auto send = [&](int i, const std::string& key_header) {
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (!key_header.empty()) headers.push_back(key_header);
    return api.Request("POST", path, Json{{"i", i}}.dump(), headers);
  };

  // New keys (both header names) until the queue is full.
  std::vector<std::pair<std::string, std::string>> accepted;  // key header, run id
  HttpResult refused;
  for (int i = 0; i < 20 && refused.status == 0; ++i) {
    std::string header = (i % 2 ? "webhook-id: evt-" : "Idempotency-Key: evt-") + std::to_string(i);
    auto r = send(i, header);
    if (r.status == 202)
      accepted.emplace_back(header, r.json.value("run_id", ""));
    else
      refused = r;
  }
  ASSERT_EQ(refused.status, 429) << refused.body;
  ASSERT_FALSE(accepted.empty());

  // Every accepted key again, the queue still full: its first run, no new one.
  for (const auto& [header, run_id] : accepted) {
    auto again = send(-1, header);
    EXPECT_EQ(again.status, 202) << header << ": " << again.body;
    EXPECT_EQ(again.json.value("run_id", ""), run_id) << header;
    EXPECT_EQ(again.Header("idempotent-replayed"), "true") << header;
  }
  // A new key, or none, would start a run: refused.
  auto fresh = send(100, "Idempotency-Key: evt-new");
  EXPECT_EQ(fresh.status, 429) << fresh.body;
  EXPECT_FALSE(fresh.Header("retry-after").empty());
  EXPECT_EQ(send(101, "").status, 429);
  // The key the full queue refused was not recorded: it is refused again.
  EXPECT_EQ(send(102, "Idempotency-Key: evt-" + std::to_string(accepted.size())).status, 429);

  Json runs = RunsOf(api, flow_id);
  EXPECT_EQ(runs.size(), accepted.size()) << runs.dump();
  // The deliveries say the same: each repeat points at its first run.
  auto listed = api.Get("/api/v1/deliveries?limit=100&flow_id=" + flow_id);
  ASSERT_EQ(listed.status, 200) << listed.body;
  std::map<std::string, int> answered_per_run;
  int refused_deliveries = 0;
  for (const auto& d : listed.json["deliveries"]) {
    if (d["status_code"] == 429)
      ++refused_deliveries;
    else if (d["status_code"] == 202)
      ++answered_per_run[d.value("run_id", "")];
  }
  EXPECT_EQ(refused_deliveries, 4) << listed.body;
  ASSERT_EQ(answered_per_run.size(), accepted.size()) << listed.body;
  for (const auto& [header, run_id] : accepted) EXPECT_EQ(answered_per_run[run_id], 2) << header;
}

TEST(OperationsLimitsTest, ARunPastItsTimeoutFailsAndItsStepIsCancelled) {
  WeftServer server;
  const Client& api = server.api();
  Json flow = CreateFlow(api, Doc(UniqueName("too-slow"),
                                  Json::array({Step("quick", "data.set", {{"value", 1}}),
                                               Step("wait", "flow.delay", {{"duration", "1h"}}),
                                               Step("never", "data.set", {{"value", 2}})}),
                                  Json{{"timeout", "1s"}}));
  auto started = std::chrono::steady_clock::now();
  std::string id = StartRun(api, flow["id"]);
  Json run = WaitRunFinished(api, id, 20s);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(run["status"], "failed") << run.dump();
  EXPECT_EQ(run["error"]["code"], "timeout") << run.dump();
  EXPECT_NE(run["error"]["message"].get<std::string>().find("timeout of 1s"), std::string::npos)
      << run.dump();
  EXPECT_EQ(StepOf(run, "quick")["status"], "succeeded");
  EXPECT_EQ(StepOf(run, "wait")["status"], "failed");
  EXPECT_EQ(StepOf(run, "wait")["error"]["code"], "timeout");
  Json never = StepOf(run, "never");
  EXPECT_TRUE(never.is_null() || never["status"] == "pending") << never.dump();
  EXPECT_LT(took, 10s);
}

// A caller past its settings.timeout while it waits in flow.call: it fails
// with the timeout, and the run it called is cancelled rather than left running.
TEST(OperationsLimitsTest, ACallerPastItsTimeoutCancelsTheRunItCalled) {
  WeftServer server;
  const Client& api = server.api();
  Json child =
      CreateFlow(api, Doc(UniqueName("slow-child"),
                          Json::array({Step("wait", "flow.delay", {{"duration", "1h"}})})));
  Json caller =
      CreateFlow(api, Doc(UniqueName("impatient"),
                          Json::array({Step("call", "flow.call", {{"flow", child["name"]}})}),
                          Json{{"timeout", "2s"}}));
  auto started = std::chrono::steady_clock::now();
  std::string id = StartRun(api, caller["id"]);
  Json run = WaitRunFinished(api, id, 30s);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(run["status"], "failed") << run.dump();
  EXPECT_EQ(run["error"]["code"], "timeout") << run.dump();
  EXPECT_EQ(StepOf(run, "call")["error"]["code"], "timeout");
  EXPECT_LT(took, 10s);  // at its timeout, not at the next poll of the call
  auto runs = api.Get("/api/v1/runs?flow_id=" + child["id"].get<std::string>());
  ASSERT_EQ(runs.json["runs"].size(), 1u) << runs.json.dump();
  std::string child_run = runs.json["runs"][0]["id"];
  EXPECT_EQ(WaitRunFinished(api, child_run, 20s)["status"], "cancelled");
}

TEST(OperationsLimitsTest, AStepOutputOverMaxStepOutputFailsTheStepWithoutCuttingIt) {
  WeftServer server({"--max-step-output", "1KiB"});
  const Client& api = server.api();
  Json flow = CreateFlow(
      api, Doc(UniqueName("big-output"),
               Json::array({Step("small", "data.set", {{"value", "{{ $pad('', 900, 'x') }}"}}),
                            Step("big", "data.set", {{"value", "{{ $pad('', 2000, 'x') }}"}})})));
  auto run = RunAndWait(api, flow["id"]);
  ASSERT_EQ(run.json["status"], "failed") << run.body;
  EXPECT_EQ(StepOf(run.json, "small")["status"], "succeeded");
  EXPECT_EQ(StepOf(run.json, "small")["output"].get<std::string>().size(), 900u);
  Json big = StepOf(run.json, "big");
  EXPECT_EQ(big["status"], "failed");
  EXPECT_TRUE(big["output"].is_null()) << big.dump().substr(0, 200);
  EXPECT_NE(big["error"]["message"].get<std::string>().find(
                "over the limit of 1024 bytes (--max-step-output)"),
            std::string::npos)
      << big["error"].dump();
}

TEST(OperationsLimitsTest, RetentionPrunesOldFinishedRunsButNeverRunningOrKeptFailedOnes) {
  WeftServer server({"--retain-runs", "1s", "--retention-interval", "200ms", "--workers", "2"});
  const Client& api = server.api();
  // Under the server's --retain-runs 1s.
  Json quick = CreateFlow(
      api, Doc(UniqueName("quick"), Json::array({Step("a", "data.set", {{"value", 1}})})));
  // Its own: successes go after 1 s, failures are kept an hour.
  Json flaky = CreateFlow(
      api, Doc(UniqueName("flaky"),
               Json::array({Json{{"id", "check"},
                                 {"uses", "flow.if"},
                                 {"with", {{"condition", "{{ trigger.body.fail = true }}"}}},
                                 {"then", Json::array({Step("boom", "flow.fail", Json::object())})},
                                 {"else", Json::array()}}}),
               Json{{"retention", {{"runs", "1s"}, {"keep_failed", "1h"}}}}));
  // Runs for a minute: must outlive every pass.
  Json slow = CreateFlow(api, Doc(UniqueName("slow"),
                                  Json::array({Step("wait", "flow.delay", {{"duration", "1m"}})})));

  std::string running = StartRun(api, slow["id"]);
  std::string ok = RunAndWait(api, quick["id"]).json["id"];
  std::string flaky_ok = RunAndWait(api, flaky["id"], Json{{"fail", false}}).json["id"];
  auto failed = RunAndWait(api, flaky["id"], Json{{"fail", true}});
  ASSERT_EQ(failed.json["status"], "failed") << failed.body;
  ASSERT_TRUE(
      WaitFor([&] { return api.Get("/api/v1/runs/" + running).json["status"] == "running"; }));

  ASSERT_TRUE(WaitFor(
      [&] {
        return api.Get("/api/v1/runs/" + ok).status == 404 &&
               api.Get("/api/v1/runs/" + flaky_ok).status == 404;
      },
      15s))
      << server.Logs();
  // Several passes later the running run and the kept failure are still there:
  // the pruner runs every 200 ms, so 1.5 s holds about seven passes.
  std::this_thread::sleep_for(1500ms);
  auto r = api.Get("/api/v1/runs/" + running);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json["status"], "running");
  EXPECT_EQ(api.Get("/api/v1/runs/" + failed.json["id"].get<std::string>()).status, 200);
  EXPECT_EQ(api.Post("/api/v1/runs/" + running + "/cancel").status, 200);
}

TEST(OperationsLimitsTest, RetainRunsCountKeepsEachFlowsNewestRuns) {
  WeftServer server(
      {"--retain-runs", "off", "--retain-runs-count", "2", "--retention-interval", "200ms"});
  const Client& api = server.api();
  Json counted = CreateFlow(
      api, Doc(UniqueName("counted"), Json::array({Step("a", "data.set", {{"value", 1}})})));
  // Its own keep wins over the server's count.
  Json own = CreateFlow(
      api, Doc(UniqueName("own-keep"), Json::array({Step("a", "data.set", {{"value", 1}})}),
               Json{{"retention", {{"keep", 4}}}}));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = RunAndWait(api, counted["id"]);
    ASSERT_EQ(r.json["status"], "succeeded") << r.body;
    ids.push_back(r.json["id"]);
    ASSERT_EQ(RunAndWait(api, own["id"]).json["status"], "succeeded");
  }
  auto runs_of = [&](const Json& flow) {
    std::vector<std::string> out;
    auto list = api.Get("/api/v1/runs?flow_id=" + flow["id"].get<std::string>());
    EXPECT_EQ(list.status, 200) << list.body;
    for (const auto& r : list.json["runs"]) out.push_back(r["id"]);
    return out;
  };
  ASSERT_TRUE(
      WaitFor([&] { return runs_of(counted).size() == 2 && runs_of(own).size() == 4; }, 15s))
      << runs_of(counted).size() << " and " << runs_of(own).size() << " runs left\n"
      << server.Logs();
  // The newest two stayed (the list is newest first).
  EXPECT_EQ(runs_of(counted), (std::vector<std::string>{ids[4], ids[3]}));
}

}  // namespace
}  // namespace weft::itest
