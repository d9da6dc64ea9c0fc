// Contract tests of the connector catalog (connectors/<app>/connector.yaml):
// for each application, Prism (`prism mock`) serves the vendor's own OpenAPI
// document (tests/data/openapi/) on loopback, a connection points at it, and
// one flow runs every action of the manifest through the real `weft serve`.
// Prism checks each request against the document, so a wrong path, method,
// parameter, body or missing credential fails the step (400/401/415/422).
// Prism answers the same "next page" forever: the runs finishing at all
// shows max_pages stops them.
#include <gtest/gtest.h>

#include <filesystem>

#include "connectors/testing/child_server.h"
#include "harness.h"

namespace weft::itest {
namespace {

struct Vendor {
  std::string connector;
  std::string spec;  // under tests/data/openapi/
  Json settings;     // besides base_url
  Json auth;
  // Each action of the manifest with the inputs of one call.
  std::vector<std::pair<std::string, Json>> calls;
  int start_ms = 60'000;
  // A call the document refuses (an input Prism finds malformed).
  std::pair<std::string, Json> refused;
};

std::string Prism() {
  return std::string(WEFT_SOURCE_DIR) + "/tests/servers/node_modules/.bin/prism";
}

void PrintTo(const Vendor& v, std::ostream* os) { *os << v.connector; }

class CatalogContract : public ::testing::TestWithParam<Vendor> {};

TEST_P(CatalogContract, EveryActionRunsAgainstTheVendorsSpec) {
  const Vendor& v = GetParam();
  if (!std::filesystem::exists(Prism()))
    GTEST_SKIP() << "Prism is not installed (scripts/install-deps: npm ci in tests/servers)";
  int port = testing::FreePort();
  testing::ChildServer prism(
      {Prism(), "mock", std::string(WEFT_SOURCE_DIR) + "/tests/data/openapi/" + v.spec, "-h",
       "127.0.0.1", "-p", std::to_string(port)},
      port, v.start_ms);
  ASSERT_GT(prism.port(), 0) << prism.error();

  WeftServer server;
  const Client& api = server.api();
  // Every action of the manifest is called below.
  auto catalog = api.Get("/api/v1/connectors");
  ASSERT_EQ(catalog.status, 200);
  std::set<std::string> actions;
  for (const auto& c : catalog.json["connectors"])
    if (c["name"] == v.connector) {
      EXPECT_EQ(c["source"], "builtin");
      for (const auto& a : c["actions"]) actions.insert(a["name"].get<std::string>());
    }
  ASSERT_FALSE(actions.empty()) << v.connector << " is not in the catalog";
  for (const auto& [name, input] : v.calls) actions.erase(name);
  EXPECT_TRUE(actions.empty()) << "actions no call runs: " << *actions.begin();

  Json settings = v.settings;
  settings["base_url"] = "http://127.0.0.1:" + std::to_string(port);
  // Prism answers "next page" forever, so each paginated action reads
  // max_pages pages; under the vendors' own limits (Slack: 50 a minute) that
  // takes minutes. The contract is the requests' shape: a limit of the
  // connection's own lets them go at once.
  settings["rate_limit"] = {{"requests", 1000}, {"per", "1s"}, {"burst", 1000}};
  std::string conn_name = UniqueName(v.connector);
  auto conn = api.Post("/api/v1/connections", Json{{"name", conn_name},
                                                   {"connector", v.connector},
                                                   {"settings", settings},
                                                   {"auth", v.auth}});
  ASSERT_EQ(conn.status, 201) << conn.body;
  // The connection test sends the manifest's test request.
  auto tested = api.Post("/api/v1/connections/" + conn.json["id"].get<std::string>() + "/test");
  EXPECT_EQ(tested.json["ok"], true) << tested.body;

  Json steps = Json::array();
  int i = 0;
  for (const auto& [name, input] : v.calls)
    steps.push_back(Json{{"id", "s" + std::to_string(i++) + "_" + name},
                         {"uses", v.connector + "." + name},
                         {"connection", conn_name},
                         {"on_error", "continue"},
                         {"with", input}});
  Json flow =
      CreateFlow(api, Json{{"name", UniqueName(v.connector + "-contract")}, {"steps", steps}});
  ASSERT_TRUE(flow.contains("id")) << flow.dump();
  auto run = RunAndWait(api, flow["id"].get<std::string>());
  ASSERT_TRUE(run.json.contains("steps")) << run.body;
  for (const auto& s : run.json["steps"])
    EXPECT_EQ(s["status"], "succeeded")
        << s["path"].dump() << ": " << s.value("error", Json()).dump() << "\n"
        << s.value("output", Json()).dump().substr(0, 300);
  EXPECT_EQ(run.json["status"], "succeeded");

  // The same connection and a call the vendor's document forbids: Prism's
  // refusal fails the step, so the successes above are Prism's approval.
  if (!v.refused.first.empty()) {
    Json bad = CreateFlow(
        api, Json{{"name", UniqueName(v.connector + "-refused")},
                  {"steps", Json::array({Json{{"id", "bad"},
                                              {"uses", v.connector + "." + v.refused.first},
                                              {"connection", conn_name},
                                              {"with", v.refused.second}}})}});
    auto refused = RunAndWait(api, bad["id"].get<std::string>());
    EXPECT_EQ(refused.json["status"], "failed") << refused.body;
    EXPECT_NE(refused.body.find("HTTP 4"), std::string::npos) << refused.body;
  }
}

const std::string kAccount = "AC" + std::string(32, 'a');

INSTANTIATE_TEST_SUITE_P(
    Vendors, CatalogContract,
    ::testing::Values(
        Vendor{"slack",
               "slack/slack_web_openapi_v2.json",
               Json::object(),
               {{"type", "bearer"}, {"token", "xoxb-test"}},
               {{"chat_post_message", {{"channel", "C012AB3CD"}, {"text", "Deployed"}}},
                {"conversations_list", Json::object()},
                {"conversations_history", {{"channel", "C012AB3CD"}}},
                {"users_list", Json::object()}}},

        Vendor{"box",
               "box/openapi.json",
               Json::object(),
               {{"type", "oauth2_code"}, {"client_id", "cid"}, {"access_token", "box-token"}},
               {{"list_folder_items", {{"folder_id", "0"}}},
                {"create_folder", {{"name", "Reports"}, {"parent_id", "0"}}},
                {"get_file", {{"file_id", "12345"}}},
                {"download_file", {{"file_id", "12345"}}},
                {"search", {{"query", "invoice"}}}}},
        Vendor{
            "twilio",
            "twilio/twilio_api_v2010.json",
            {{"account_sid", kAccount}},
            {{"type", "basic"}, {"username", kAccount}, {"password", "token"}},
            {{"send_message", {{"to", "+15558675310"}, {"from", "+15017122661"}, {"body", "Hi"}}},
             {"list_messages", Json::object()},
             {"get_message", {{"sid", "SM" + std::string(32, 'b')}}}}},
        Vendor{
            "twilio_messaging",
            "twilio/twilio_messaging_v1.json",
            Json::object(),
            {{"type", "basic"}, {"username", kAccount}, {"password", "token"}},
            {{"list_services", Json::object()},
             {"create_service",
              {{"friendly_name", "Alerts"}, {"usecase", "notifications"}, {"sticky_sender", true}}},
             {"get_service", {{"sid", "MG" + std::string(32, 'b')}}},
             {"add_phone_number",
              {{"service_sid", "MG" + std::string(32, 'b')},
               {"phone_number_sid", "PN" + std::string(32, 'c')}}},
             {"list_phone_numbers", {{"service_sid", "MG" + std::string(32, 'b')}}}},
            60'000,
            // a phone number where its SID (PN...) belongs
            {"add_phone_number",
             {{"service_sid", "MG" + std::string(32, 'b')}, {"phone_number_sid", "+15017122661"}}}},
        Vendor{
            "mailchimp_transactional",
            "mailchimp/transactional.openapi.json",
            Json::object(),
            {{"type", "api_key"}, {"value", "md-key"}},
            {{"send_message",
              {{"from_email", "ops@example.com"},
               {"to", Json::array({{{"email", "a@example.com"}}})},
               {"subject", "Hello"},
               {"text", "Hi"}}},
             {"send_template",
              {{"template_name", "welcome"}, {"to", Json::array({{{"email", "a@example.com"}}})}}},
             {"list_templates", Json::object()},
             {"message_info", {{"id", "abc123"}}}}},
        Vendor{"asana",
               "asana/asana_oas.yaml",
               Json::object(),
               {{"type", "bearer"}, {"token", "asana-pat"}},
               {{"list_workspaces", Json::object()},
                {"list_project_tasks", {{"project_gid", "1331"}}},
                {"get_task", {{"task_gid", "1331"}}},
                {"create_task", {{"name", "Write report"}, {"workspace", "1331"}}},
                {"update_task", {{"task_gid", "1331"}, {"completed", true}}}}},
        Vendor{"openai",
               "openai/openapi.yaml",
               Json::object(),
               {{"type", "bearer"}, {"token", "sk-test"}},
               {{"chat_completion", {{"model", "gpt-4o-mini"}, {"prompt", "Say hi"}}},
                {"list_models", Json::object()}},
               180'000}),
    [](const ::testing::TestParamInfo<Vendor>& info) { return info.param.connector; });

}  // namespace
}  // namespace weft::itest
