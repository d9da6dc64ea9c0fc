// POST /api/v1/flows/{id}/steps/{step_id}/test over the real binary: one step
// run alone against pinned sample data, a past run's data or a draft, with no
// run created; a failing step reports its error; bad requests name the field.
#include <algorithm>

#include "harness.h"

namespace weft::itest {
namespace {

Json SampleFlow(const std::string& name) {
  return Json::parse(R"({
    "name": ")" + name +
                     R"(",
    "trigger": {"type": "manual"},
    "steps": [
      {"id": "a", "uses": "data.set", "with": {"value": {"n": "{{ trigger.body.start }}"}}},
      {"id": "b", "uses": "data.set", "with": {"value": "{{ steps.a.output.n + 1 }}"}},
      {"id": "call", "uses": "http.request", "with": {"url": "http://127.0.0.1:1/", "method": "GET"}}
    ],
    "sample": {"trigger": {"body": {"start": 41}}, "steps": {"a": {"output": {"n": 41}}}}})");
}

size_t RunCount(const Client& api, const std::string& flow_id) {
  auto r = api.Get("/api/v1/runs?flow_id=" + flow_id);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json["runs"].size();
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST_F(WeftTest, TestStepResolvesAgainstThePinnedSampleAndCreatesNoRun) {
  Json flow = CreateFlow(api(), SampleFlow(UniqueName("sample")));
  const std::string id = flow["id"];
  // The pinned sample is saved with the flow and given back.
  auto got = api().Get("/api/v1/flows/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.json["sample"]["trigger"]["body"]["start"], 41);

  auto r = api().Post("/api/v1/flows/" + id + "/steps/b/test", Json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["status"], "succeeded") << r.body;
  EXPECT_EQ(r.json["output"], 42);
  EXPECT_EQ(r.json["input"], Json::parse(R"({"value": 42})"));
  EXPECT_TRUE(r.json["error"].is_null());
  EXPECT_TRUE(r.json["duration_ms"].is_number_integer());

  // The first step reads the pinned trigger.
  r = api().Post("/api/v1/flows/" + id + "/steps/a/test", Json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["output"], Json::parse(R"({"n": 41})"));

  // A sample in the request wins over the pinned one; a draft over the saved version.
  Json draft = SampleFlow(flow["name"]);
  draft["steps"][1]["with"]["value"] = "{{ steps.a.output.n * 2 }}";
  r = api().Post("/api/v1/flows/" + id + "/steps/b/test",
                 Json{{"flow", draft}, {"sample", {{"steps", {{"a", {{"output", {{"n", 5}}}}}}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["output"], 10) << r.body;
  // The draft was not saved, and nothing went to the Process Log.
  EXPECT_EQ(api().Get("/api/v1/flows/" + id).json["version"], 1);
  EXPECT_EQ(RunCount(api(), id), 0u);
}

TEST_F(WeftTest, TestStepTakesAPastRunsData) {
  Json flow = CreateFlow(api(), SampleFlow(UniqueName("past")));
  const std::string id = flow["id"];
  auto run = RunAndWait(api(), id, Json{{"start", 7}});
  ASSERT_EQ(run.status, 200) << run.body;
  ASSERT_EQ(run.json["status"], "failed");  // `call` has nothing to call; a and b ran
  ASSERT_EQ(RunCount(api(), id), 1u);

  auto r = api().Post("/api/v1/flows/" + id + "/steps/b/test",
                      Json{{"sample", {{"run_id", run.json["id"]}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["status"], "succeeded") << r.body;
  EXPECT_EQ(r.json["output"], 8);
  r = api().Post("/api/v1/flows/" + id + "/steps/a/test",
                 Json{{"sample", {{"run_id", run.json["id"]}}}});
  EXPECT_EQ(r.json["output"], Json::parse(R"({"n": 7})"));
  EXPECT_EQ(RunCount(api(), id), 1u);
}

TEST_F(WeftTest, TestStepReportsAFailingStepsError) {
  Json flow = CreateFlow(api(), SampleFlow(UniqueName("failing")));
  const std::string id = flow["id"];
  auto r = api().Post("/api/v1/flows/" + id + "/steps/call/test", Json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["status"], "failed");
  EXPECT_EQ(r.json["error"]["code"], "unavailable") << r.body;  // nothing listens on port 1
  EXPECT_FALSE(r.json["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(r.json["input"]["url"], "http://127.0.0.1:1/");
  EXPECT_TRUE(r.json["output"].is_null());

  // An expression that fails to evaluate is the step's error too, naming the input.
  Json draft = SampleFlow(flow["name"]);
  draft["steps"][1]["with"]["value"] = "{{ $error('no good') }}";
  r = api().Post("/api/v1/flows/" + id + "/steps/b/test", Json{{"flow", draft}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["status"], "failed");
  EXPECT_EQ(r.json["error"]["code"], "expression_error") << r.body;
  EXPECT_NE(r.json["error"]["message"].get<std::string>().find("with.value"), std::string::npos)
      << r.body;
  EXPECT_EQ(RunCount(api(), id), 0u);
}

TEST_F(WeftTest, TestStepRefusesBadRequestsNamingTheField) {
  Json flow = CreateFlow(api(), SampleFlow(UniqueName("bad")));
  const std::string base = "/api/v1/flows/" + flow["id"].get<std::string>();

  auto r = api().Post(base + "/steps/nope/test", Json::object());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(Contains(ErrorPaths(r.json), "step_id")) << r.body;

  Json draft = SampleFlow("x");
  draft["steps"][1].erase("uses");
  r = api().Post(base + "/steps/b/test", Json{{"flow", draft}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(Contains(ErrorPaths(r.json), "flow.steps[1].uses")) << r.body;

  r = api().Post(base + "/steps/b/test", Json{{"sample", {{"run_id", "run_doesnotexist"}}}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(Contains(ErrorPaths(r.json), "sample.run_id")) << r.body;

  r = api().Post(base + "/steps/b/test", Json{{"sample", {{"trigger", "text"}}}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(Contains(ErrorPaths(r.json), "sample.trigger")) << r.body;

  r = api().Post("/api/v1/flows/flow_doesnotexist/steps/b/test", Json::object());
  EXPECT_EQ(r.status, 404) << r.body;

  // A pinned sample that is not an object is refused on save, naming it.
  Json bad = SampleFlow(UniqueName("badsample"));
  bad["sample"] = "pinned";
  r = api().Post("/api/v1/flows", bad);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(Contains(ErrorPaths(r.json), "sample")) << r.body;
}

}  // namespace
}  // namespace weft::itest
