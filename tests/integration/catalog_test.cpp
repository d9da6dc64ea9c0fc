// Connector manifests through the real `weft serve`: POST /api/v1/connectors
// (refused whole with paths, a built-in name refused, a good one usable at
// once and still there after a restart), save-time checks of a step's `with`
// against the action's schema, and `weft connector import-openapi`.
#include <gtest/gtest.h>

#include <algorithm>

#include "connectors/testing/child_server.h"
#include "harness.h"

namespace weft::itest {
namespace {

const char* kManifest = R"(
name: echo_app
title: Echo App
icon: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24"/></svg>'
connection:
  fields: [{name: base_url, title: Base URL}]
  base_url: "{{ connection.base_url }}"
  auth: {type: bearer}
  test: {path: /echo}
actions:
  send:
    title: Send a note
    method: POST
    path: /echo
    body: {note: "{{ input.note }}", to: "{{ input.to }}"}
    input:
      type: object
      required: [note]
      properties:
        note: {type: string}
        to: {type: array, items: {type: object, required: [email], properties: {email: {type: string}}}}
    output: "{'sent': $eval(body), 'auth': headers.authorization}"
)";

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(CatalogApi, AManifestPostedIsCheckedStoredAndUsable) {
  testing::ChildServer http(
      {testing::SystemPython(), WEFT_SOURCE_DIR "/tests/servers/http_server.py"});
  ASSERT_GT(http.port(), 0) << http.error();
  WeftServer server;
  const Client& api = server.api();

  auto broken =
      api.PostRaw("/api/v1/connectors",
                  "name: x\nconnection: {base_url: 'http://x'}\nactions: {a: {methd: GET}}",
                  "application/yaml");
  EXPECT_EQ(broken.status, 400) << broken.body;
  EXPECT_TRUE(Has(ErrorPaths(broken.json), "actions.a.path")) << broken.body;
  EXPECT_TRUE(Has(ErrorPaths(broken.json), "actions.a.methd")) << broken.body;
  auto taken =
      api.PostRaw("/api/v1/connectors",
                  "name: slack\nconnection: {base_url: 'http://x'}\nactions: {a: {path: /}}",
                  "application/yaml");
  EXPECT_EQ(taken.status, 409) << taken.body;

  auto created = api.PostRaw("/api/v1/connectors", kManifest, "application/yaml");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json["source"], "user");
  EXPECT_TRUE(created.json["icon"].get<std::string>().starts_with("data:image/svg+xml;base64,"));
  auto listed = api.Get("/api/v1/connectors");
  bool found = false;
  for (const auto& c : listed.json["connectors"]) found = found || c["name"] == "echo_app";
  EXPECT_TRUE(found);

  auto conn =
      api.Post("/api/v1/connections",
               Json{{"name", "echo"},
                    {"connector", "echo_app"},
                    {"settings", {{"base_url", "http://127.0.0.1:" + std::to_string(http.port())}}},
                    {"auth", {{"type", "bearer"}, {"token", "tok-123"}}}});
  ASSERT_EQ(conn.status, 201) << conn.body;

  // Save-time: the schema's paths.
  auto bad = api.Post(
      "/api/v1/flows",
      Json{{"name", UniqueName("bad")},
           {"steps", Json::array({Json{{"id", "a"},
                                       {"uses", "echo_app.send"},
                                       {"connection", "echo"},
                                       {"with", {{"to", Json::array({Json{{"mail", "x"}}})}}}}})}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_TRUE(Has(ErrorPaths(bad.json), "steps[0].with.note")) << bad.body;
  EXPECT_TRUE(Has(ErrorPaths(bad.json), "steps[0].with.to[0].email")) << bad.body;

  Json flow = CreateFlow(
      api, Json{{"name", UniqueName("echo")},
                {"steps", Json::array({Json{{"id", "a"},
                                            {"uses", "echo_app.send"},
                                            {"connection", "echo"},
                                            {"with", {{"note", "{{ trigger.body.n }}"}}}}})}});
  std::string id = flow["id"].get<std::string>();
  auto run = RunAndWait(api, id, Json{{"n", "hello"}});
  ASSERT_EQ(run.json["status"], "succeeded") << run.body;
  EXPECT_EQ(StepOf(run.json, "a")["output"]["sent"], (Json{{"note", "hello"}}));
  EXPECT_EQ(StepOf(run.json, "a")["output"]["auth"], "Bearer tok-123");

  // Stored in the data dir: there after a restart.
  server.Restart();
  auto again = RunAndWait(server.api(), id, Json{{"n", "again"}});
  EXPECT_EQ(again.json["status"], "succeeded") << again.body;
}

TEST(CatalogApi, AnOpenApiDocumentBecomesAManifestToCurateAndSave) {
  WeftServer server;
  const Client& api = server.api();
  std::string spec =
      testing::ReadFile(WEFT_SOURCE_DIR "/tests/data/openapi/mailchimp/transactional.openapi.json");
  ASSERT_FALSE(spec.empty());
  auto imported = api.PostRaw(
      "/api/v1/connectors/import-openapi?operation=users/ping&operation=messages/"
      "send&name=mandrill",
      spec, "application/json");
  ASSERT_EQ(imported.status, 200) << imported.body.substr(0, 500);
  EXPECT_EQ(imported.json["actions"], Json::parse(R"(["messages_send", "users_ping"])"));
  EXPECT_EQ(imported.json["operations"], 99);
  // Every operation is listed for a UI to choose from, the two kept marked selected.
  const Json& list = imported.json["operation_list"];
  ASSERT_EQ(list.size(), 99u);
  std::vector<std::string> selected;
  for (const auto& op : list)
    if (op["selected"] == true) selected.push_back(op["operation"].get<std::string>());
  EXPECT_EQ(selected, (std::vector<std::string>{"messages/send", "users/ping"}));
  EXPECT_EQ(list[0]["method"], "POST");
  EXPECT_FALSE(list[0]["tags"].empty());
  auto saved = api.PostRaw("/api/v1/connectors", imported.json["manifest"].get<std::string>(),
                           "application/yaml");
  EXPECT_EQ(saved.status, 201) << saved.body.substr(0, 500);
  EXPECT_EQ(saved.json["name"], "mandrill");
  auto not_openapi =
      api.PostRaw("/api/v1/connectors/import-openapi", "{\"a\": 1}", "application/json");
  EXPECT_EQ(not_openapi.status, 400) << not_openapi.body;
}

TEST(CatalogCli, ImportOpenApiPrintsAManifest) {
  auto r = RunWeft({"connector", "import-openapi",
                    WEFT_SOURCE_DIR "/tests/data/openapi/twilio/twilio_messaging_v1.json", "--tag",
                    "MessagingV1Service", "--name", "twilio_services"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("name: twilio_services"), std::string::npos) << r.output.substr(0, 500);
  EXPECT_NE(r.output.find("create_service:"), std::string::npos);
  EXPECT_NE(r.output.find("actions from 58 operations"), std::string::npos);
  auto missing = RunWeft({"connector", "import-openapi", "/nonexistent.json"});
  EXPECT_NE(missing.exit_code, 0);
}

}  // namespace
}  // namespace weft::itest
