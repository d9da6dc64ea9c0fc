// Rate limits per connection through the real `weft serve`, against a real
// application with a rate limit of its own (tests/servers/rate_server.py:
// 429 for a request that makes more than LIMIT in any 1 s).
//
// The main test runs the issue's figures: 20 runs started at once, each a
// flow.foreach (concurrency 8) over 15 items, 300 requests through one
// connection, against an application that refuses more than 5 in any
// second (a sliding window, counting arrivals). The manifest limits the
// connection to 8 per 2 s (one each 250 ms): 6 requests span 1.25 s, so one
// would have to arrive 250 ms late, and the next on time, for the
// application to see six in a second. Requests leave at their slot to the
// millisecond (the run wakes kWakeEarly before it and the worker waits the
// rest: engine/executor.cpp SendAtSlot), so 300 take about 75 s. (With 9 per
// 2 s, a margin of 110 ms, a machine at a load of 18 once sent one 110 ms
// late.)
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "connectors/testing/child_server.h"
#include "harness.h"

namespace weft::itest {
namespace {

using Clock = std::chrono::steady_clock;

const char* kManifest = R"(
name: limited_app
title: Limited App
connection:
  fields: [{name: base_url, title: Base URL}]
  base_url: "{{ connection.base_url }}"
  auth: {type: none}
rate_limit: {requests: 8, per: 2s}
actions:
  hit:
    title: Hit
    method: GET
    path: /hit
)";

Json Stats(int port) {
  Client app("http://127.0.0.1:" + std::to_string(port));
  return app.Get("/__stats").json;
}

Json ForeachFlow(const std::string& name, const std::string& uses, const std::string& connection,
                 int items, int concurrency, Json with = Json::object()) {
  Json list = Json::array();
  for (int i = 0; i < items; ++i) list.push_back(i);
  return Json{{"name", name},
              {"steps", Json::array({Json{{"id", "each"},
                                          {"uses", "flow.foreach"},
                                          {"with", {{"items", list}, {"concurrency", concurrency}}},
                                          {"do", Json::array({Json{{"id", "call"},
                                                                   {"uses", uses},
                                                                   {"connection", connection},
                                                                   {"with", with}}})}}})}};
}

std::string RunId(const HttpResult& r) { return r.json.value("id", std::string()); }

// Every step record's log lines of a run, below the given path prefix.
std::vector<std::string> LogLines(const Json& run) {
  std::vector<std::string> lines;
  for (const auto& s : run.value("steps", Json::array()))
    for (const auto& l : s.value("logs", Json::array()))
      lines.push_back(l.value("message", std::string()));
  return lines;
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& part) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

TEST(RateLimit, RunsShareTheConnectionsLimitAndHoldNoWorkerWhileTheyWait) {
  constexpr int kRuns = 20, kItems = 15;
  testing::ChildServer app(
      {testing::SystemPython(), WEFT_SOURCE_DIR "/tests/servers/rate_server.py", "5"});
  ASSERT_GT(app.port(), 0) << app.error();
  WeftServer server;
  const Client& api = server.api();
  ASSERT_EQ(api.PostRaw("/api/v1/connectors", kManifest, "application/yaml").status, 201);
  auto conn = api.Post(
      "/api/v1/connections",
      Json{{"name", "limited"},
           {"connector", "limited_app"},
           {"settings", {{"base_url", "http://127.0.0.1:" + std::to_string(app.port())}}}});
  ASSERT_EQ(conn.status, 201) << conn.body;
  Json fan =
      CreateFlow(api, ForeachFlow(UniqueName("fan"), "limited_app.hit", "limited", kItems, 8));
  Json pure = CreateFlow(
      api,
      Json{{"name", UniqueName("pure")},
           {"steps",
            Json::array({Json{{"id", "a"}, {"uses", "data.set"}, {"with", {{"value", 1}}}}})}});

  auto start = Clock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < kRuns; ++i) {
    auto r = api.Post("/api/v1/flows/" + fan["id"].get<std::string>() + "/runs", Json::object());
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(RunId(r));
  }
  // While 160 iterations wait for their slots, a flow without the connection
  // runs at once: the waiting runs hold no worker.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    auto quick = RunAndWait(api, pure["id"].get<std::string>());
    auto took = Clock::now() - t0;
    EXPECT_EQ(quick.json["status"], "succeeded") << quick.body;
    EXPECT_LT(took, std::chrono::seconds(1))
        << "a pure flow took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }

  Json some_run;
  for (const auto& id : ids) {
    Json run = WaitRunFinished(api, id, std::chrono::seconds(150));
    EXPECT_EQ(run["status"], "succeeded") << run.dump().substr(0, 2000);
    if (some_run.is_null() && AnyContains(LogLines(run), "for the rate limit of connection"))
      some_run = run;
  }
  auto took = Clock::now() - start;
  Json stats = Stats(app.port());
  EXPECT_EQ(stats["over"], 0) << "requests over the application's limit: "
                              << stats.dump(1).substr(0, 400);
  EXPECT_EQ(stats["ok"], kRuns * kItems);
  EXPECT_LE(stats["max_in_window"].get<int>(), 5);
  // 300 requests at 8 per 2 s cannot take less than 299 intervals of 250 ms.
  EXPECT_GE(took, std::chrono::milliseconds(299 * 250));
  EXPECT_LT(took, std::chrono::seconds(100));
  // The Process Log says why a step waited.
  EXPECT_FALSE(some_run.is_null()) << "no step shows its wait for the rate limit";
  std::cout << kRuns * kItems << " requests in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms; most in one second: " << stats["max_in_window"] << "\n";
}

TEST(RateLimit, AConnectionsOwnSettingLimitsThePlainHttpConnector) {
  testing::ChildServer app(
      {testing::SystemPython(), WEFT_SOURCE_DIR "/tests/servers/rate_server.py", "100"});
  ASSERT_GT(app.port(), 0) << app.error();
  WeftServer server;
  const Client& api = server.api();
  std::string base = "http://127.0.0.1:" + std::to_string(app.port());
  // A bad limit is refused, naming the field.
  auto bad = api.Post("/api/v1/connections",
                      Json{{"name", "h"},
                           {"connector", "http"},
                           {"settings", {{"base_url", base}, {"rate_limit", {{"requests", 0}}}}}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  auto paths = ErrorPaths(bad.json);
  EXPECT_NE(std::find(paths.begin(), paths.end(), "settings.rate_limit.requests"), paths.end())
      << bad.body;
  auto conn = api.Post(
      "/api/v1/connections",
      Json{{"name", "h"},
           {"connector", "http"},
           {"settings", {{"base_url", base}, {"rate_limit", {{"requests", 4}, {"per", "1s"}}}}}});
  ASSERT_EQ(conn.status, 201) << conn.body;
  Json flow = CreateFlow(
      api, ForeachFlow(UniqueName("each"), "http.request", "h", 6, 6, {{"url", "/hit"}}));
  auto run = RunAndWait(api, flow["id"].get<std::string>());
  ASSERT_EQ(run.status, 200) << run.body;
  Json done = WaitRunFinished(api, RunId(run));
  EXPECT_EQ(done["status"], "succeeded") << done.dump().substr(0, 1000);
  std::vector<double> times = Stats(app.port())["times"].get<std::vector<double>>();
  ASSERT_EQ(times.size(), 6u);
  std::sort(times.begin(), times.end());
  // One every 250 ms: six span at least 1.25 s, and no two come closer than 150 ms
  // (arrivals trail their slots by a varying few ms).
  EXPECT_GE(times.back() - times.front(), 1.2);
  for (size_t i = 1; i < times.size(); ++i) EXPECT_GE(times[i] - times[i - 1], 0.15) << i;
}

TEST(RateLimit, RetryAfterPausesEveryStepOfTheConnection) {
  testing::ChildServer app(
      {testing::SystemPython(), WEFT_SOURCE_DIR "/tests/servers/rate_server.py", "100"});
  ASSERT_GT(app.port(), 0) << app.error();
  WeftServer server;
  const Client& api = server.api();
  std::string base = "http://127.0.0.1:" + std::to_string(app.port());
  auto conn =
      api.Post("/api/v1/connections",
               Json{{"name", "h"}, {"connector", "http"}, {"settings", {{"base_url", base}}}});
  ASSERT_EQ(conn.status, 201) << conn.body;
  // No retry policy: the application's Retry-After is retried all the same.
  auto step = [](const std::string& url) {
    return Json::array({Json{
        {"id", "a"}, {"uses", "http.request"}, {"connection", "h"}, {"with", {{"url", url}}}}});
  };
  Json busy = CreateFlow(api, Json{{"name", UniqueName("busy")}, {"steps", step("/busy?wait=3")}});
  Json other = CreateFlow(api, Json{{"name", UniqueName("other")}, {"steps", step("/other")}});

  auto first = api.Post("/api/v1/flows/" + busy["id"].get<std::string>() + "/runs", Json::object());
  ASSERT_EQ(first.status, 202);
  ASSERT_TRUE(WaitFor([&] { return Stats(app.port())["times"].size() >= 1; }));
  double refused_at = Stats(app.port())["times"][0].get<double>();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Another flow's step on the same connection waits for the pause too.
  auto second = RunAndWait(api, other["id"].get<std::string>());
  Json second_run = WaitRunFinished(api, RunId(second));
  EXPECT_EQ(second_run["status"], "succeeded") << second_run.dump().substr(0, 1000);
  Json first_run = WaitRunFinished(api, RunId(first));
  EXPECT_EQ(first_run["status"], "succeeded") << first_run.dump().substr(0, 1000);

  std::vector<double> times = Stats(app.port())["times"].get<std::vector<double>>();
  ASSERT_EQ(times.size(), 3u);  // the 429, then both requests after the pause
  EXPECT_GE(times[1] - refused_at, 2.9);
  EXPECT_GE(times[2] - refused_at, 2.9);
  // The Process Log shows the wait: on the refused step, and on the one held back.
  std::vector<std::string> lines = LogLines(first_run);
  EXPECT_TRUE(AnyContains(lines, "HTTP 429: the application asked to wait 3s (Retry-After)"))
      << first_run.dump(1);
  EXPECT_EQ(StepOf(first_run, "a")["attempts"], 2);
  EXPECT_TRUE(AnyContains(LogLines(second_run), "paused by the application")) << second_run.dump(1);
}

}  // namespace
}  // namespace weft::itest
