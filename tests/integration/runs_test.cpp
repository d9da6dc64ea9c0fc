// Runs over the real binary: the Process Log's filters and cursor, cancel,
// retry from the failed step, on_error: continue, live events, the catalog
// and expression preview.
#include <curl/curl.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

namespace weft::itest {
namespace {

Json Doc(const std::string& name, const std::string& steps_json) {
  return Json::parse(R"({"name": ")" + name + R"(", "trigger": {"type": "manual"}, "steps": )" +
                     steps_json + "}");
}

TEST_F(WeftTest, RunsListFiltersAndPagesWithACursor) {
  Json good = CreateFlow(
      api(), Doc(UniqueName("good"), R"([{"id": "a", "uses": "data.set", "with": {"value": 1}}])"));
  Json bad =
      CreateFlow(api(), Doc(UniqueName("bad"),
                            R"([{"id": "boom", "uses": "flow.fail", "with": {"message": "no"}}])"));
  std::set<std::string> good_runs, bad_runs;
  for (int i = 0; i < 5; ++i) {
    auto r = RunAndWait(api(), good["id"]);
    ASSERT_EQ(r.status, 200) << r.body;
    good_runs.insert(GetString(r.json, "id"));
  }
  for (int i = 0; i < 2; ++i) {
    auto r = RunAndWait(api(), bad["id"]);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json["status"], "failed");
    bad_runs.insert(GetString(r.json, "id"));
  }

  auto r = api().Get("/api/v1/runs?flow_id=" + GetString(good, "id"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["runs"].size(), 5u);
  for (const auto& run : r.json["runs"]) EXPECT_EQ(run["flow_id"], good["id"]);

  r = api().Get("/api/v1/runs?status=failed&flow_id=" + GetString(bad, "id"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json["runs"].size(), 2u);
  r = api().Get("/api/v1/runs?status=succeeded&flow_id=" + GetString(bad, "id"));
  EXPECT_EQ(r.json["runs"].size(), 0u);
  r = api().Get("/api/v1/runs?trigger=manual&flow_id=" + GetString(bad, "id"));
  EXPECT_EQ(r.json["runs"].size(), 2u);
  r = api().Get("/api/v1/runs?trigger=webhook&flow_id=" + GetString(bad, "id"));
  EXPECT_EQ(r.json["runs"].size(), 0u);

  // Pages of two, newest first, every run once.
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    std::string path = "/api/v1/runs?limit=2&flow_id=" + GetString(good, "id");
    if (!cursor.empty()) path += "&cursor=" + cursor;
    r = api().Get(path);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_LE(r.json["runs"].size(), 2u);
    for (const auto& run : r.json["runs"])
      EXPECT_TRUE(seen.insert(GetString(run, "id")).second) << "repeated";
    cursor = r.json["next_cursor"].is_string() ? r.json["next_cursor"].get<std::string>() : "";
    ASSERT_LT(++pages, 10);
  } while (!cursor.empty());
  EXPECT_EQ(seen, good_runs);

  EXPECT_EQ(api().Get("/api/v1/runs?status=sideways").status, 400);
  EXPECT_EQ(api().Get("/api/v1/runs?limit=abc").status, 400);
  EXPECT_EQ(api().Get("/api/v1/runs?limit=5000").status, 200);
  EXPECT_EQ(api().Get("/api/v1/runs/nosuchrun").status, 404);
}

TEST_F(WeftTest, CancelStopsARunAndAFinishedRunCannotBeCancelled) {
  Json flow = CreateFlow(api(), Doc(UniqueName("slow"), R"([
      {"id": "a", "uses": "data.set", "with": {"value": 1}},
      {"id": "wait", "uses": "flow.delay", "with": {"duration": "30s"}},
      {"id": "after", "uses": "data.set", "with": {"value": 2}}])"));
  auto started = api().Post("/api/v1/flows/" + GetString(flow, "id") + "/runs");
  ASSERT_EQ(started.status, 202) << started.body;
  std::string id = started.json["id"];
  ASSERT_TRUE(WaitFor([&] {
    return GetString(StepOf(api().Get("/api/v1/runs/" + id).json, "wait"), "status") == "running";
  }));

  auto r = api().Post("/api/v1/runs/" + id + "/cancel");
  ASSERT_EQ(r.status, 200) << r.body;
  Json run = WaitRunFinished(api(), id, 15s);
  EXPECT_EQ(run["status"], "cancelled") << run.dump(2);
  EXPECT_NE(GetString(StepOf(run, "after"), "status"), "succeeded");

  r = api().Post("/api/v1/runs/" + id + "/cancel");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(api().Post("/api/v1/runs/nosuchrun/cancel").status, 404);
}

TEST_F(WeftTest, RetryStartsAtTheFailedStepReusingEarlierOutputs) {
  // `boom` fails only in the run whose id step `a` recorded: the first run.
  // The retry reuses a's output (the first run's id), so there boom is skipped.
  Json flow = CreateFlow(api(), Doc(UniqueName("retry"), R"([
      {"id": "a", "uses": "data.set", "with": {"value": "{{ run.id }}"}},
      {"id": "boom", "uses": "flow.fail", "if": "{{ run.id = steps.a.output }}", "with": {"message": "first time"}},
      {"id": "c", "uses": "data.set", "with": {"value": "done after {{ steps.a.output }}"}}])"));
  auto first = RunAndWait(api(), flow["id"]);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.json["status"], "failed") << first.body;
  std::string first_id = first.json["id"];
  EXPECT_EQ(StepOf(first.json, "boom")["status"], "failed");

  auto retry = api().Post("/api/v1/runs/" + first_id + "/retry");
  ASSERT_TRUE(retry.status == 202 || retry.status == 201) << retry.status << retry.body;
  std::string retry_id = retry.json["id"];
  EXPECT_NE(retry_id, first_id);
  EXPECT_EQ(retry.json["retry_of"], first_id);
  Json run = WaitRunFinished(api(), retry_id);
  EXPECT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(run["flow_version"], first.json["flow_version"]);
  EXPECT_EQ(StepOf(run, "a")["output"], first_id) << "a's output was not reused";
  EXPECT_EQ(StepOf(run, "boom")["status"], "skipped");
  EXPECT_EQ(StepOf(run, "c")["output"], "done after " + first_id);

  // Only a failed run can be retried.
  auto again = api().Post("/api/v1/runs/" + retry_id + "/retry");
  EXPECT_EQ(again.status, 409) << again.body;
}

TEST_F(WeftTest, OnErrorContinueKeepsGoingAndTheRunSucceeds) {
  Json flow = CreateFlow(api(), Doc(UniqueName("cont"), R"([
      {"id": "a", "uses": "flow.fail", "with": {"message": "tolerated"}, "on_error": "continue"},
      {"id": "b", "uses": "data.set", "with": {"value": "a was {{ steps.a.status }}"}}])"));
  auto r = RunAndWait(api(), flow["id"]);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["status"], "succeeded") << r.body;
  EXPECT_EQ(StepOf(r.json, "a")["status"], "failed");
  EXPECT_NE(StepOf(r.json, "a")["error"].dump().find("tolerated"), std::string::npos);
  EXPECT_EQ(StepOf(r.json, "b")["output"], "a was failed");
}

struct SseEvent {
  std::string name;
  Json data;
};

std::vector<SseEvent> ParseSse(const std::string& text) {
  std::vector<SseEvent> out;
  std::istringstream in(text);
  std::string line, name, data;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (!name.empty()) out.push_back({name, ParseJson(data).value_or(Json())});
      name.clear();
      data.clear();
    } else if (line.starts_with("event: ")) {
      name = line.substr(7);
    } else if (line.starts_with("data: ")) {
      data += line.substr(6);
    }
  }
  return out;
}

TEST_F(WeftTest, EventsStreamFollowsARunLive) {
  Json flow = CreateFlow(api(), Doc(UniqueName("live"), R"([
      {"id": "a", "uses": "data.set", "with": {"value": 1}},
      {"id": "pause", "uses": "flow.delay", "with": {"duration": "500ms"}},
      {"id": "say", "uses": "log.write", "with": {"message": "hello from {{ steps.a.output }}"}}])"));
  auto started = api().Post("/api/v1/flows/" + GetString(flow, "id") + "/runs");
  ASSERT_EQ(started.status, 202);
  std::string id = started.json["id"];

  // Blocks until the server ends the stream after run_finished.
  auto r = api().Request("GET", "/api/v1/runs/" + id + "/events", "", {"Accept: text/event-stream"},
                         30s);
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_NE(r.Header("content-type").find("text/event-stream"), std::string::npos);
  auto events = ParseSse(r.body);
  ASSERT_FALSE(events.empty()) << r.body;
  EXPECT_EQ(events.back().name, "run_finished") << r.body;
  EXPECT_EQ(events.back().data["status"], "succeeded");

  std::vector<std::string> order;
  bool saw_log = false;
  for (const auto& e : events) {
    if (e.name == "step_started" || e.name == "step_finished")
      order.push_back(e.name + ":" + GetString(e.data, "path"));
    if (e.name == "log") {
      saw_log = true;
      EXPECT_EQ(e.data["path"], "say");
      EXPECT_NE(GetString(e.data, "message").find("hello from 1"), std::string::npos)
          << e.data.dump();
    }
  }
  std::vector<std::string> expected = {"step_started:a",     "step_finished:a",
                                       "step_started:pause", "step_finished:pause",
                                       "step_started:say",   "step_finished:say"};
  EXPECT_EQ(order, expected) << r.body;
  EXPECT_TRUE(saw_log) << r.body;

  // A finished run streams its whole story and ends at once.
  auto replay = api().Request("GET", "/api/v1/runs/" + id + "/events", "", {}, 10s);
  EXPECT_EQ(ParseSse(replay.body).back().name, "run_finished");
  EXPECT_EQ(api().Get("/api/v1/runs/nosuchrun/events").status, 404);
}

// Steps that start in the same millisecond (utilities written with the run's
// end) are listed in the flow's order, not by id: "hello" before "alpha".
TEST_F(WeftTest, StepsAreListedInTheFlowsOrder) {
  Json flow = CreateFlow(api(), Doc(UniqueName("order"), R"([
      {"id": "hello", "uses": "data.set", "with": {"value": "Hello Grace!"}},
      {"id": "alpha", "uses": "log.write", "with": {"message": "{{ steps.hello.output }}"}},
      {"id": "mid", "uses": "data.set", "with": {"value": 2}}])"));
  auto run = RunAndWait(api(), flow["id"]);
  ASSERT_EQ(run.status, 200) << run.body;
  ASSERT_EQ(run.json["status"], "succeeded") << run.body;
  std::string id = run.json["id"];
  const std::vector<std::string> expected = {"hello", "alpha", "mid"};

  auto got = api().Get("/api/v1/runs/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  std::vector<std::string> order;
  for (const auto& s : got.json["steps"]) order.push_back(GetString(s, "path"));
  EXPECT_EQ(order, expected) << got.body;

  auto r = api().Request("GET", "/api/v1/runs/" + id + "/events", "", {}, 10s);
  std::vector<std::string> lines;
  for (const auto& e : ParseSse(r.body)) {
    if (e.name == "step_started") lines.push_back(GetString(e.data, "path") + " started");
    if (e.name == "log") lines.push_back(GetString(e.data, "message"));
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"hello started", "alpha started", "Hello Grace!",
                                             "mid started"}))
      << r.body;
}

// A client that opens the stream while a step waits for its retry gets the
// step's "attempt 1 failed" line once: as a `log` event, not also inside the
// step's own event (the live log showed it twice).
TEST_F(WeftTest, EventsCarryEachLogLineOnce) {
  Json flow = CreateFlow(api(), Doc(UniqueName("retry"), R"([
      {"id": "call", "uses": "http.request", "with": {"url": "http://127.0.0.1:1/", "method": "GET"},
       "retry": {"attempts": 2, "delay": "3s"}}])"));
  auto started = api().Post("/api/v1/flows/" + GetString(flow, "id") + "/runs");
  ASSERT_EQ(started.status, 202) << started.body;
  std::string id = started.json["id"];
  auto waiting = [&] {
    auto r = api().Get("/api/v1/runs/" + id);
    return r.json["steps"].size() == 1 && r.json["steps"][0]["logs"].size() == 1;
  };
  for (int i = 0; i < 100 && !waiting(); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(waiting()) << api().Get("/api/v1/runs/" + id).body;

  auto r = api().Request("GET", "/api/v1/runs/" + id + "/events", "", {}, 30s);
  ASSERT_EQ(r.status, 200) << r.error;
  int seen = 0;
  for (const auto& e : ParseSse(r.body)) {
    if (e.name == "log" && GetString(e.data, "message").find("attempt 1 failed") == 0) ++seen;
    if (e.data.contains("logs"))
      for (const auto& l : e.data["logs"])
        if (GetString(l, "message").find("attempt 1 failed") == 0) ++seen;
  }
  EXPECT_EQ(seen, 1) << r.body;
  // The run's record keeps the step's whole log.
  auto run = api().Get("/api/v1/runs/" + id);
  EXPECT_EQ(run.json["status"], "failed") << run.body;
  EXPECT_EQ(run.json["steps"][0]["logs"].size(), 1u) << run.body;
}

TEST_F(WeftTest, ConnectorCatalogListsTheUtilities) {
  auto r = api().Get("/api/v1/connectors");
  ASSERT_EQ(r.status, 200);
  std::set<std::string> actions;
  for (const auto& c : r.json["connectors"]) {
    for (const auto& a : c["actions"])
      actions.insert(GetString(c, "name") + "." + GetString(a, "name"));
  }
  for (const char* u :
       {"data.set", "log.write", "flow.if", "flow.foreach", "flow.delay", "flow.fail"}) {
    EXPECT_TRUE(actions.count(u)) << u;
  }
}

TEST_F(WeftTest, ExpressionsEvaluateWithJsonataErrors) {
  auto r = api().Post(
      "/api/v1/expressions/evaluate",
      Json::parse(
          R"({"expression": "$sum(items.price) * $k", "input": {"items": [{"price": 2}, {"price": 3}]}, "bindings": {"k": 10}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["result"], 50);

  r = api().Post("/api/v1/expressions/evaluate",
                 Json::parse(R"({"expression": "nothing.here", "input": {}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.json.contains("result")) << r.body;

  r = api().Post("/api/v1/expressions/evaluate",
                 Json::parse(R"({"expression": "(1 + ", "input": {}})"));
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(GetString(r.json["error"], "code").substr(0, 1), "S") << r.body;
  EXPECT_TRUE(r.json["error"].contains("position")) << r.body;

  r = api().Post("/api/v1/expressions/evaluate", Json::parse(R"({"input": {}})"));
  EXPECT_EQ(r.status, 400);
}

TEST_F(WeftTest, SchedulePreviewListsNextFiresAndNamesBadFields) {
  auto r = api().Post("/api/v1/schedules/preview", Json::parse(R"({
      "schedule": {"kind": "cron", "cron": "0 9 * * MON,FRI", "timezone": "Europe/Berlin"},
      "count": 3, "after": "2026-12-01T00:00:00Z"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      r.json["next"],
      Json::parse(
          R"(["2026-12-04T09:00:00+01:00", "2026-12-07T09:00:00+01:00", "2026-12-11T09:00:00+01:00"])"));
  EXPECT_NE(GetString(r.json, "description").find("09:00"), std::string::npos) << r.body;

  r = api().Post(
      "/api/v1/schedules/preview",
      Json::parse(
          R"({"schedule": {"kind": "cron", "cron": "0 99 * * *", "timezone": "Mars/Olympus"}})"));
  ASSERT_EQ(r.status, 400) << r.body;
  auto paths = ErrorPaths(r.json);
  EXPECT_NE(std::find(paths.begin(), paths.end(), "schedule.cron"), paths.end()) << r.body;
  EXPECT_NE(std::find(paths.begin(), paths.end(), "schedule.timezone"), paths.end()) << r.body;
}

}  // namespace
}  // namespace weft::itest
