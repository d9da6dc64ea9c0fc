// Replay: retrying a failed run from its failed step or from the
// start, on the version it ran with or on the latest, one run or many. The
// first step calls a local HTTP server that records every request, so a step
// run again is seen as a second request.
#include <string>

#include "connectors/testing/child_server.h"
#include "harness.h"

namespace weft::itest {
namespace {

class ReplayTest : public WeftTest {
 protected:
  void SetUp() override {
    WeftTest::SetUp();
    far_ = std::make_unique<testing::ChildServer>(std::vector<std::string>{
        testing::SystemPython(), std::string(WEFT_TEST_SERVERS_DIR) + "/http_server.py"});
    ASSERT_GT(far_->port(), 0) << far_->error();
  }

  std::string FarUrl(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(far_->port()) + path;
  }

  // How many requests the local server received on `path`.
  int Requests(const std::string& path) const {
    Client far(FarUrl(""));
    auto r = far.Get("/__requests");
    EXPECT_EQ(r.status, 200) << r.body;
    int n = 0;
    for (const auto& req : r.json)
      if (req.value("path", "") == path) ++n;
    return n;
  }

  // fetch (an HTTP call to `path`) then `second`.
  Json Document(const std::string& name, const std::string& path, const Json& second) const {
    Json steps = Json::array();
    steps.push_back({{"id", "fetch"},
                     {"uses", "http.request"},
                     {"with", {{"url", FarUrl(path)}, {"method", "GET"}}}});
    steps.push_back(second);
    return Json{{"name", name}, {"trigger", {{"type", "manual"}}}, {"steps", steps}};
  }

  static Json Failing() {
    return {{"id", "check"}, {"uses", "flow.fail"}, {"with", {{"message", "not yet"}}}};
  }
  static Json Fixed() {
    return {{"id", "check"},
            {"uses", "data.set"},
            {"with", {{"value", "fixed, fetch answered {{ steps.fetch.output.status }}"}}}};
  }

  std::unique_ptr<testing::ChildServer> far_;
};

TEST_F(ReplayTest, RetryFromTheFailedStepOnTheLatestVersionReusesTheFirstStep) {
  std::string name = UniqueName("replay");
  Json flow = CreateFlow(api(), Document(name, "/echo/once", Failing()));
  std::string id = flow["id"];
  auto first = RunAndWait(api(), id);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.json["status"], "failed") << first.body;
  ASSERT_EQ(Requests("/echo/once"), 1);

  // Fix the second step in a new version.
  auto saved = api().Put("/api/v1/flows/" + id, Document(name, "/echo/once", Fixed()));
  ASSERT_EQ(saved.status, 200) << saved.body;
  ASSERT_EQ(saved.json["version"], 2) << saved.body;

  // On the version it ran with, the retry fails again: still the old check.
  auto same = api().Post("/api/v1/runs/" + std::string(first.json["id"]) + "/retry",
                         Json{{"from", "failed_step"}, {"version", "original"}});
  ASSERT_EQ(same.status, 202) << same.body;
  Json same_run = WaitRunFinished(api(), same.json["id"]);
  EXPECT_EQ(same_run["status"], "failed") << same_run.dump(2);
  EXPECT_EQ(same_run["flow_version"], 1);
  EXPECT_EQ(Requests("/echo/once"), 1) << "fetch ran again on the original version";

  // On the latest version, from the failed step: succeeds, fetch not called again.
  auto latest = api().Post("/api/v1/runs/" + std::string(same_run["id"]) + "/retry",
                           Json{{"from", "failed_step"}, {"version", "latest"}});
  ASSERT_EQ(latest.status, 202) << latest.body;
  EXPECT_EQ(latest.json["retry_of"], same_run["id"]);
  Json run = WaitRunFinished(api(), latest.json["id"]);
  EXPECT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(run["flow_version"], 2);
  EXPECT_EQ(StepOf(run, "check")["output"], "fixed, fetch answered 200") << run.dump(2);
  EXPECT_EQ(StepOf(run, "fetch")["output"], StepOf(first.json, "fetch")["output"]);
  EXPECT_EQ(Requests("/echo/once"), 1) << "fetch was executed again";
}

TEST_F(ReplayTest, AChangedStepRunsAgainOnTheLatestVersionAndFromStartRunsAll) {
  std::string name = UniqueName("replay");
  Json flow = CreateFlow(api(), Document(name, "/echo/v1", Failing()));
  std::string id = flow["id"];
  auto first = RunAndWait(api(), id);
  ASSERT_EQ(first.json["status"], "failed") << first.body;
  std::string first_id = first.json["id"];

  // Version 2 changes fetch too (another path): its result is not reused.
  ASSERT_EQ(api().Put("/api/v1/flows/" + id, Document(name, "/echo/v2", Fixed())).status, 200);
  auto latest = api().Post("/api/v1/runs/" + first_id + "/retry", Json{{"version", "latest"}});
  ASSERT_EQ(latest.status, 202) << latest.body;
  Json run = WaitRunFinished(api(), latest.json["id"]);
  EXPECT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(Requests("/echo/v1"), 1);
  EXPECT_EQ(Requests("/echo/v2"), 1) << "the changed fetch was not run";

  // From the start on the original version: every step again, failing again.
  auto again = api().Post("/api/v1/runs/" + first_id + "/retry", Json{{"from", "start"}});
  ASSERT_EQ(again.status, 202) << again.body;
  Json again_run = WaitRunFinished(api(), again.json["id"]);
  EXPECT_EQ(again_run["status"], "failed");
  EXPECT_EQ(again_run["flow_version"], 1);
  EXPECT_EQ(Requests("/echo/v1"), 2) << "from the start, fetch was not run again";
}

TEST_F(ReplayTest, BadRetryOptionsAreRefusedNamingTheField) {
  auto r = api().Post("/api/v1/runs/nosuch/retry", Json{{"from", "middle"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorPaths(r.json), std::vector<std::string>{"from"}) << r.body;
  r = api().Post("/api/v1/runs/nosuch/retry", Json{{"version", 2}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorPaths(r.json), std::vector<std::string>{"version"}) << r.body;
  r = api().Post("/api/v1/runs/retry", Json{{"ids", Json::array()}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorPaths(r.json), std::vector<std::string>{"ids"}) << r.body;
  r = api().Post("/api/v1/runs/retry", Json{{"ids", {"a", 7}}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorPaths(r.json), std::vector<std::string>{"ids[1]"}) << r.body;
  Json many = Json::array();
  for (int i = 0; i < 1001; ++i) many.push_back("r" + std::to_string(i));
  r = api().Post("/api/v1/runs/retry", Json{{"ids", many}});
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(ReplayTest, BulkRetryAnswersPerId) {
  std::string name = UniqueName("bulk");
  Json flow = CreateFlow(api(), Document(name, "/echo/bulk", Failing()));
  std::string id = flow["id"];
  auto a = RunAndWait(api(), id);
  auto b = RunAndWait(api(), id);
  ASSERT_EQ(a.json["status"], "failed");
  ASSERT_EQ(b.json["status"], "failed");
  ASSERT_EQ(api().Put("/api/v1/flows/" + id, Document(name, "/echo/bulk", Fixed())).status, 200);
  Json ok = CreateFlow(
      api(), Json{{"name", UniqueName("fine")},
                  {"trigger", {{"type", "manual"}}},
                  {"steps", {{{"id", "x"}, {"uses", "data.set"}, {"with", {{"value", 1}}}}}}});
  auto fine = RunAndWait(api(), ok["id"]);
  ASSERT_EQ(fine.json["status"], "succeeded");

  auto r = api().Post(
      "/api/v1/runs/retry",
      Json{{"ids", {a.json["id"], "nosuchrun", fine.json["id"], b.json["id"], a.json["id"]}},
           {"version", "latest"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["retried"], 2);
  ASSERT_EQ(r.json["results"].size(), 5u);
  EXPECT_EQ(r.json["results"][4]["status"], 409) << "a run listed twice was retried twice";
  EXPECT_EQ(r.json["results"][0]["status"], 202);
  EXPECT_EQ(r.json["results"][1]["status"], 404);
  EXPECT_EQ(r.json["results"][1]["error"]["code"], "not_found") << r.body;
  EXPECT_EQ(r.json["results"][2]["status"], 409);
  EXPECT_EQ(r.json["results"][3]["status"], 202);
  for (int i : {0, 3}) {
    Json run = WaitRunFinished(api(), r.json["results"][i]["run"]["id"]);
    EXPECT_EQ(run["status"], "succeeded") << run.dump(2);
    EXPECT_EQ(run["flow_version"], 2);
  }
  EXPECT_EQ(Requests("/echo/bulk"), 2) << "fetch ran again in a bulk retry";
}

// "Run again with this payload" on a webhook delivery.
TEST_F(WeftTest, ADeliveryIsReplayedAsANewRunEvenWhenTheFlowIsInactive) {
  Json doc = {
      {"name", UniqueName("hook")},
      {"trigger",
       {{"type", "webhook"},
        {"webhook", {{"auth", {{"type", "header"}, {"name", "X-Token"}, {"value", "t1"}}}}}}},
      {"steps",
       {{{"id", "echo"},
         {"uses", "data.set"},
         {"with", {{"value", "order {{ trigger.body.order }} via {{ trigger.query.src }}"}}}}}}};
  Json flow = CreateFlow(api(), doc);
  std::string flow_id = flow["id"];
  std::string url = flow.value("webhook_url", "");
  std::string hook = url.substr(url.find("/hooks/"));
  ASSERT_EQ(api().Post("/api/v1/flows/" + flow_id + "/activate").status, 200);
  auto sent = api().Request("POST", hook + "/orders?src=shop", R"({"order": 42})",
                            {"Content-Type: application/json", "X-Token: t1"});
  ASSERT_EQ(sent.status, 202) << sent.body;
  Json first = WaitRunFinished(api(), sent.json["run_id"]);
  ASSERT_EQ(first["status"], "succeeded") << first.dump(2);
  auto bad = api().Request("POST", hook, R"({"order": 666})",
                           {"Content-Type: application/json", "X-Token: wrong"});
  ASSERT_EQ(bad.status, 401) << bad.body;

  Json deliveries = api().Get("/api/v1/deliveries?flow_id=" + flow_id).json["deliveries"];
  ASSERT_EQ(deliveries.size(), 2u) << deliveries.dump(2);
  std::string good_id, bad_id;
  for (const auto& d : deliveries) (d["status_code"] == 202 ? good_id : bad_id) = d["id"];
  ASSERT_FALSE(good_id.empty());
  ASSERT_FALSE(bad_id.empty());

  // Deactivated: the replay still runs (an editor's deliberate act).
  ASSERT_EQ(api().Post("/api/v1/flows/" + flow_id + "/deactivate").status, 200);
  auto replayed = api().Post("/api/v1/deliveries/" + good_id + "/replay");
  ASSERT_EQ(replayed.status, 202) << replayed.body;
  EXPECT_NE(replayed.json["id"], first["id"]);
  Json run = WaitRunFinished(api(), replayed.json["id"]);
  EXPECT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(run["trigger_type"], "webhook");
  EXPECT_EQ(run["trigger"]["replayed_from"], good_id);
  EXPECT_EQ(run["trigger"]["body"], first["trigger"]["body"]);
  EXPECT_EQ(run["trigger"]["path"], first["trigger"]["path"]);
  EXPECT_EQ(StepOf(run, "echo")["output"], "order 42 via shop") << run.dump(2);
  // No new delivery is recorded by a replay.
  EXPECT_EQ(api().Get("/api/v1/deliveries?flow_id=" + flow_id).json["deliveries"].size(), 2u);

  // A request that failed the webhook's auth is not run by a click.
  auto refused = api().Post("/api/v1/deliveries/" + bad_id + "/replay");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.json["error"]["message"].get<std::string>().find("authentication"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(api().Post("/api/v1/deliveries/nosuch/replay").status, 404);
}

}  // namespace
}  // namespace weft::itest
