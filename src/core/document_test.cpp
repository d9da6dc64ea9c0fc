#include "core/document.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace weft {
namespace {

ActionCatalog TestCatalog() {
  ActionCatalog c;
  ConnectorSpec data{"data", "Data", "", "table", false, {}, {}, {}};
  data.actions.push_back({"set", "Set data", "", {{"value", "Value", "any", true}}, "value", {}});
  c.Register(data, {});
  ConnectorSpec flow{"flow", "Flow", "", "flow", false, {}, {}, {}};
  flow.actions.push_back({"if", "If", "", {{"condition", "Condition", "any", true}}, "", {"then", "else"}});
  flow.actions.push_back({"delay", "Delay", "", {{"duration", "Duration", "duration", true}}, "", {}});
  c.Register(flow, {});
  ConnectorSpec http{"http", "HTTP", "", "globe", true, {}, {}, {}};
  http.actions.push_back({"request", "Request", "", {{"url", "URL", "string", true}, {"method", "Method", "enum", false, false, {"GET", "POST"}}}, "", {}});
  c.Register(http, {});
  return c;
}

std::vector<std::string> Paths(const Error& e) {
  std::vector<std::string> out;
  for (const auto& d : e.details) out.push_back(d.path);
  return out;
}

TEST(Document, ReportsEveryProblemWithItsPath) {
  ActionCatalog catalog = TestCatalog();
  ValidationContext ctx{catalog};
  ctx.connection_exists = [](const std::string&) { return true; };
  Json doc = ParseJson(R"({
    "name": "broken",
    "steps": [
      {"id": "a", "uses": "data.set", "with": {"value": 1}},
      {"id": "a", "uses": "data.nope"},
      {"id": "c", "uses": "http.request", "connection": "x", "with": {"method": "GET"}},
      {"id": "d", "uses": "flow.delay", "with": {"duration": "5 minutes"}},
      {"id": "e", "uses": "data.set", "with": {"value": 1}, "timeout": "soon"},
      {"id": "f", "uses": "flow.if", "with": {"condition": true}, "then": [{"id": "Bad", "uses": "data.set"}]}
    ]})").value();
  auto r = ValidateFlowDocument(doc, ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kValidation);
  EXPECT_EQ(r.error().message, "the flow has " + std::to_string(r.error().details.size()) + " problems");
  auto paths = Paths(r.error());
  for (const char* p : {"steps[1].id", "steps[1].uses", "steps[2].with.url", "steps[3].with.duration",
                        "steps[4].timeout", "steps[5].then[0].id", "steps[5].then[0].with.value"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
}

TEST(Document, UnknownConnectionIsAWarning) {
  ActionCatalog catalog = TestCatalog();
  ValidationContext ctx{catalog};
  ctx.connection_exists = [](const std::string&) { return false; };
  Json doc = {{"name", "n"},
              {"steps", {{{"id", "c"}, {"uses", "http.request"}, {"connection", "later"},
                          {"with", {{"url", "/x"}}}}}}};
  auto r = ValidateFlowDocument(doc, ctx);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0].path, "steps[0].connection");
}

TEST(Document, ConnectionOfAnotherConnectorWrongTypesAndBlankRequiredInputsAreErrors) {
  ActionCatalog catalog = TestCatalog();
  ConnectorSpec pg{"postgres", "PostgreSQL", "", "db", true, {}, {}, {}};
  pg.actions.push_back({"query", "Query", "", {{"sql", "SQL", "text", true}}, "", {}});
  catalog.Register(pg, {});
  ValidationContext ctx{catalog};
  ctx.connection_connector = [](const std::string& name) -> std::optional<std::string> {
    if (name == "warehouse") return "postgres";
    if (name == "crm") return "http";
    return std::nullopt;
  };
  Json doc = ParseJson(R"({
    "name": "n",
    "steps": [
      {"id": "a", "uses": "http.request", "connection": "crm", "with": {"url": "/ok"}},
      {"id": "b", "uses": "http.request", "connection": "warehouse", "with": {"url": "/x"}},
      {"id": "c", "uses": "postgres.query", "connection": "warehouse", "with": {"sql": ""}},
      {"id": "d", "uses": "http.request", "connection": "crm", "with": {"url": 42, "method": "{{ trigger.body.m }}"}},
      {"id": "e", "uses": "http.request", "connection": "later", "with": {"url": "{{ trigger.body.url }}"}}
    ]})").value();
  auto r = ValidateFlowDocument(doc, ctx);
  ASSERT_FALSE(r);
  auto paths = Paths(r.error());
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"steps[1].connection", "steps[2].with.sql", "steps[3].with.url"}));
  for (const auto& d : r.error().details) {
    if (d.path != "steps[1].connection") continue;
    EXPECT_EQ(d.message, "connection \"warehouse\" is a connection of the postgres connector; \"http.request\" needs one of the http connector");
  }

  // Without those errors the unknown connection is only a warning.
  doc["steps"].erase(1);
  doc["steps"][1]["with"]["sql"] = "SELECT 1";
  doc["steps"][2]["with"]["url"] = "/fine";
  auto ok = ValidateFlowDocument(doc, ctx);
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->warnings.size(), 1u);
  EXPECT_EQ(ok->warnings[0].path, "steps[3].connection");
}

TEST(Document, ExpressionSyntaxErrorNamesTheField) {
  ActionCatalog catalog = TestCatalog();
  ValidationContext ctx{catalog};
  Json doc = {{"name", "n"},
              {"steps", {{{"id", "a"}, {"uses", "data.set"}, {"with", {{"value", "{{ trigger.body.( }}"}}}}}}};
  auto r = ValidateFlowDocument(doc, ctx);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().details.size(), 1u);
  EXPECT_EQ(r.error().details[0].path, "steps[0].with.value");
}

TEST(Document, YamlAndJsonGiveTheSameCanonicalDocument) {
  ActionCatalog catalog = TestCatalog();
  ValidationContext ctx{catalog};
  auto yaml = ParseDocumentText(R"(
name: Sync
trigger: {type: manual}
steps:
  - id: a
    uses: data.set
    with: {value: "42"}
    retry: {attempts: 3, backoff: exponential, delay: 2s, max_delay: 1m}
)");
  ASSERT_TRUE(yaml) << yaml.error().message;
  auto json = ParseDocumentText(
      R"({"name":"Sync","trigger":{"type":"manual"},"steps":[{"id":"a","uses":"data.set","with":{"value":"42"},)"
      R"("retry":{"attempts":3,"backoff":"exponential","delay":"2s","max_delay":"1m"}}]})");
  ASSERT_TRUE(json);
  auto a = ValidateFlowDocument(*yaml, ctx);
  auto b = ValidateFlowDocument(*json, ctx);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->canonical, b->canonical);
  EXPECT_TRUE(a->canonical["steps"][0]["with"]["value"].is_string());
  // Export to YAML and back keeps the document.
  auto back = ParseDocumentText(ToYaml(a->canonical));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, a->canonical);
}

TEST(Document, BadYamlIsABadRequest) {
  auto r = ParseDocumentText("name: [unclosed");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
}

}  // namespace
}  // namespace weft
