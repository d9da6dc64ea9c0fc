// Flows over the real binary: create and run, validation, versions,
// activation, clone, export/import, delete, malformed bodies, the route table.
#include <algorithm>

#include "harness.h"

namespace weft::itest {
namespace {

Json ThreeStepFlow(const std::string& name) {
  return Json::parse(R"({
    "name": ")" + name +
                     R"(",
    "description": "three data.set steps reading each other",
    "trigger": {"type": "manual"},
    "steps": [
      {"id": "a", "uses": "data.set", "with": {"value": {"n": "{{ trigger.body.start }}"}}},
      {"id": "b", "uses": "data.set", "with": {"value": "{{ steps.a.output.n + 1 }}"}},
      {"id": "c", "uses": "data.set", "with": {"value": "b was {{ steps.b.output }}"}}
    ]})");
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

size_t FlowCount(const Client& api) {
  auto r = api.Get("/api/v1/flows");
  EXPECT_EQ(r.status, 200);
  return r.json["flows"].size();
}

TEST_F(WeftTest, HealthzSaysOk) {
  auto r = api().Get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json, Json::parse(R"({"status":"ok"})"));
}

TEST_F(WeftTest, ThreeStepManualFlowRunsAndEachStepReadsTheLast) {
  Json flow = CreateFlow(api(), ThreeStepFlow(UniqueName("three")));
  ASSERT_TRUE(flow.contains("id"));
  EXPECT_EQ(flow["version"], 1);
  EXPECT_EQ(flow["active"], false);

  auto r = RunAndWait(api(), flow["id"], Json{{"start", 41}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["status"], "succeeded") << r.body;

  auto read = api().Get("/api/v1/runs/" + GetString(r.json, "id"));
  ASSERT_EQ(read.status, 200);
  const Json& run = read.json;
  EXPECT_EQ(run["status"], "succeeded");
  EXPECT_EQ(run["flow_id"], flow["id"]);
  EXPECT_EQ(run["flow_version"], 1);
  ASSERT_EQ(run["steps"].size(), 3u) << run.dump(2);
  EXPECT_EQ(run["steps"][0]["id"], "a");
  EXPECT_EQ(run["steps"][1]["id"], "b");
  EXPECT_EQ(run["steps"][2]["id"], "c");
  for (const auto& s : run["steps"]) EXPECT_EQ(s["status"], "succeeded") << s.dump();
  EXPECT_EQ(run["steps"][0]["output"], Json::parse(R"({"n": 41})"));
  EXPECT_EQ(run["steps"][1]["output"], 42);
  EXPECT_EQ(run["steps"][2]["output"], "b was 42");
  // The resolved input is kept beside the output.
  EXPECT_EQ(run["steps"][1]["input"]["value"], 42);
  EXPECT_EQ(run["output"], "b was 42");
}

TEST_F(WeftTest, RunWithoutWaitIsAcknowledgedAndFinishes) {
  Json flow = CreateFlow(api(), ThreeStepFlow(UniqueName("nowait")));
  auto r = api().Post("/api/v1/flows/" + GetString(flow, "id") + "/runs",
                      Json{{"input", {{"start", 1}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_TRUE(r.json.contains("id"));
  Json run = WaitRunFinished(api(), r.json["id"]);
  EXPECT_EQ(run["status"], "succeeded") << run.dump(2);
}

TEST_F(WeftTest, BrokenFlowIsRefusedNamingEveryPathAndNothingIsSaved) {
  size_t before = FlowCount(api());
  Json broken = Json::parse(R"({
    "name": ")" + UniqueName("broken") +
                            R"(",
    "steps": [
      {"id": "a", "uses": "nope.nothing", "with": {}},
      {"id": "b", "uses": "data.set", "with": {"value": 1}, "timeout": "5 parsecs"},
      {"id": "a", "uses": "data.set", "with": {"value": 2}},
      {"id": "d", "uses": "data.set", "with": {}}
    ]})");
  auto r = api().Post("/api/v1/flows", broken);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json["error"]["code"], "validation_failed");
  auto paths = ErrorPaths(r.json);
  EXPECT_TRUE(Contains(paths, "steps[0].uses")) << r.body;
  EXPECT_TRUE(Contains(paths, "steps[1].timeout")) << r.body;
  EXPECT_TRUE(Contains(paths, "steps[2].id")) << r.body;
  EXPECT_TRUE(Contains(paths, "steps[3].with.value")) << r.body;
  EXPECT_EQ(FlowCount(api()), before);
}

TEST_F(WeftTest, BrokenSaveLeavesTheFlowAsItWas) {
  Json flow = CreateFlow(api(), ThreeStepFlow(UniqueName("keep")));
  std::string id = flow["id"];
  Json doc = ThreeStepFlow(flow["name"]);
  doc["steps"][1]["uses"] = "nope.nothing";
  auto r = api().Put("/api/v1/flows/" + id, doc);
  ASSERT_EQ(r.status, 400) << r.body;
  auto now = api().Get("/api/v1/flows/" + id);
  EXPECT_EQ(now.json["version"], 1);
  EXPECT_EQ(now.json["steps"][1]["uses"], "data.set");
}

TEST_F(WeftTest, SavesMakeVersionsAndStaleSavesConflict) {
  std::string name = UniqueName("versions");
  Json flow = CreateFlow(api(), ThreeStepFlow(name));
  std::string id = flow["id"];

  Json v2 = ThreeStepFlow(name);
  v2["description"] = "second";
  auto r = api().Put("/api/v1/flows/" + id, v2);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["version"], 2);
  EXPECT_EQ(r.json["description"], "second");

  // Identical to the latest: no new version.
  r = api().Put("/api/v1/flows/" + id, v2);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["version"], 2);

  auto versions = api().Get("/api/v1/flows/" + id + "/versions");
  ASSERT_EQ(versions.status, 200);
  EXPECT_EQ(versions.json["versions"].size(), 2u) << versions.body;

  auto first = api().Get("/api/v1/flows/" + id + "/versions/1");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json["version"], 1);
  EXPECT_EQ(first.json["document"]["description"], "three data.set steps reading each other");
  EXPECT_EQ(api().Get("/api/v1/flows/" + id + "/versions/9").status, 404);
  EXPECT_EQ(api().Get("/api/v1/flows/" + id + "/versions/x").status, 400);

  // A second editor tab still on version 1.
  Json stale = v2;
  stale["description"] = "third from an old tab";
  stale["base_version"] = 1;
  r = api().Put("/api/v1/flows/" + id, stale);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json["error"]["code"], "version_conflict");

  stale["base_version"] = 2;
  r = api().Put("/api/v1/flows/" + id, stale);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["version"], 3);
}

TEST_F(WeftTest, ActivateDeactivateCloneExportImportDelete) {
  std::string name = UniqueName("life");
  Json flow = CreateFlow(api(), ThreeStepFlow(name));
  std::string id = flow["id"];

  auto r = api().Post("/api/v1/flows/" + id + "/activate");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["active"], true);
  EXPECT_EQ(api().Get("/api/v1/flows/" + id).json["active"], true);
  // A save keeps the flow active.
  Json v2 = ThreeStepFlow(name);
  v2["description"] = "v2";
  EXPECT_EQ(api().Put("/api/v1/flows/" + id, v2).json["active"], true);
  r = api().Post("/api/v1/flows/" + id + "/deactivate");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["active"], false);

  api().Post("/api/v1/flows/" + id + "/activate");
  r = api().Post("/api/v1/flows/" + id + "/clone");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string clone_id = r.json["id"];
  EXPECT_NE(clone_id, id);
  EXPECT_NE(r.json["name"], name);
  EXPECT_EQ(r.json["active"], false);
  EXPECT_EQ(r.json["version"], 1);

  r = api().Get("/api/v1/flows/" + id + "/export");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["name"], name);
  EXPECT_EQ(r.json["steps"].size(), 3u);
  EXPECT_FALSE(r.json.contains("id"));
  EXPECT_FALSE(r.json.contains("active"));

  r = api().Get("/api/v1/flows/" + id + "/export?format=yaml");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.Header("content-type").find("yaml"), std::string::npos);
  EXPECT_NE(r.body.find("name: " + name), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("\"id\""), std::string::npos);

  // Import the YAML under another name: a new, inactive flow.
  std::string yaml = r.body;
  std::string imported_name = UniqueName("imported");
  yaml.replace(yaml.find("name: " + name), 6 + name.size(), "name: " + imported_name);
  r = api().PostRaw("/api/v1/flows/import", yaml, "application/yaml");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json["name"], imported_name);
  EXPECT_EQ(r.json["active"], false);
  EXPECT_EQ(r.json["steps"].size(), 3u);
  auto run = RunAndWait(api(), r.json["id"], Json{{"start", 1}});
  EXPECT_EQ(run.json["status"], "succeeded") << run.body;

  // Import of JSON too; a taken name is a conflict.
  auto json_export = api().Get("/api/v1/flows/" + id + "/export");
  r = api().Post("/api/v1/flows/import", json_export.json);
  EXPECT_EQ(r.status, 409) << r.body;

  r = api().Delete("/api/v1/flows/" + id);
  EXPECT_TRUE(r.status == 204 || r.status == 200) << r.status << r.body;
  EXPECT_EQ(api().Get("/api/v1/flows/" + id).status, 404);
  auto list = api().Get("/api/v1/flows");
  for (const auto& f : list.json["flows"]) EXPECT_NE(f["id"], id);
  EXPECT_EQ(api().Get("/api/v1/flows/" + clone_id).status, 200);
}

TEST_F(WeftTest, FlowListRowsCarryTheirFacts) {
  std::string name = UniqueName("row");
  Json flow = CreateFlow(api(), ThreeStepFlow(name));
  RunAndWait(api(), flow["id"], Json{{"start", 1}});
  auto r = api().Get("/api/v1/flows");
  ASSERT_EQ(r.status, 200);
  Json row;
  for (const auto& f : r.json["flows"]) {
    if (f["id"] == flow["id"]) row = f;
  }
  ASSERT_TRUE(row.is_object()) << r.body;
  EXPECT_EQ(row["name"], name);
  EXPECT_EQ(row["trigger_type"], "manual");
  EXPECT_EQ(row["version"], 1);
  EXPECT_EQ(row["active"], false);
  ASSERT_TRUE(row["last_run"].is_object()) << row.dump();
  EXPECT_EQ(row["last_run"]["status"], "succeeded");
}

TEST_F(WeftTest, MalformedJsonBodyIs400WithTheParserMessage) {
  auto r = api().PostRaw("/api/v1/flows", R"({"name": "x", "steps": [)", "application/json");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json["error"]["code"], "bad_request");
  std::string message = r.json["error"]["message"];
  EXPECT_NE(message.find("JSON"), std::string::npos) << message;
  EXPECT_NE(message.find("parse error"), std::string::npos) << message;
  // Other bodies that are not what a handler expects.
  EXPECT_EQ(api().PostRaw("/api/v1/flows", "[1,2]", "application/json").status, 400);
  EXPECT_EQ(api().PostRaw("/api/v1/flows", "\xff\xfe", "application/json").status, 400);
  EXPECT_EQ(api().PostRaw("/api/v1/expressions/evaluate", "{", "application/json").status, 400);
  EXPECT_EQ(api().Get("/healthz").status, 200);
}

TEST_F(WeftTest, UnknownRoutesAndMethodsAnswerCleanly) {
  auto r = api().Get("/api/v1/nothing-here");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json["error"]["code"], "not_found");
  r = api().Request("PATCH", "/api/v1/flows", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.Header("allow").find("GET"), std::string::npos);
  EXPECT_EQ(api().Get("/api/v1/flows/does-not-exist").status, 404);
  EXPECT_EQ(api().Post("/hooks/unknowntoken", Json::object()).status, 404);
}

TEST_F(WeftTest, OpenApiDocumentsRoutesThatAnswer) {
  auto r = api().Get("/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json["openapi"], "3.1.0");
  int checked = 0;
  for (auto& [path, item] : r.json["paths"].items()) {
    std::string concrete = path;
    for (const char* param : {"{id}", "{version}", "{token}", "{rest}"}) {
      size_t at;
      while ((at = concrete.find(param)) != std::string::npos) {
        concrete.replace(at, std::string(param).size(),
                         std::string(param) == "{version}" ? "1" : "nosuchthing");
      }
    }
    for (auto& [method, op] : item.items()) {
      std::string m = method;
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      auto res = api().Request(m, concrete, "", {}, 10s);
      ASSERT_NE(res.status, 0) << m << " " << concrete << ": " << res.error;
      EXPECT_NE(res.status, 405) << m << " " << concrete;
      std::string message = res.json.is_object() && res.json.contains("error")
                                ? GetString(res.json["error"], "message")
                                : "";
      EXPECT_EQ(message.find("no route"), std::string::npos)
          << m << " " << concrete << " is documented but not routed";
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

TEST_F(WeftTest, WebUiIsServedAtTheRoot) {
  auto r = api().Get("/");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("content-type").find("text/html"), std::string::npos);
  // A client-side route falls back to the app's page; API paths never do.
  auto page = api().Get("/flows/some-id/edit");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, r.body);
  EXPECT_EQ(api().Get("/../../etc/passwd").body.find("root:"), std::string::npos);
}

}  // namespace
}  // namespace weft::itest
