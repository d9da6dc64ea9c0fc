#include "core/document.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/poll.h"

namespace weft {
namespace {

ActionCatalog TestCatalog() {
  ActionCatalog c;
  ConnectorSpec data{"data", "Data", "", "table", false, {}, {}, {}};
  data.actions.push_back({"set", "Set data", "", {{"value", "Value", "any", true}}, "value", {}});
  c.Register(data, {});
  ConnectorSpec flow{"flow", "Flow", "", "flow", false, {}, {}, {}};
  flow.actions.push_back(
      {"if", "If", "", {{"condition", "Condition", "any", true}}, "", {"then", "else"}});
  flow.actions.push_back(
      {"delay", "Delay", "", {{"duration", "Duration", "duration", true}}, "", {}});
  c.Register(flow, {});
  ConnectorSpec http{"http", "HTTP", "", "globe", true, {}, {}, {}};
  http.actions.push_back({"request",
                          "Request",
                          "",
                          {{"url", "URL", "string", true},
                           {"method", "Method", "enum", false, false, {"GET", "POST"}}},
                          "",
                          {}});
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
    ]})")
                 .value();
  auto r = ValidateFlowDocument(doc, ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kValidation);
  EXPECT_EQ(r.error().message,
            "the flow has " + std::to_string(r.error().details.size()) + " problems");
  auto paths = Paths(r.error());
  for (const char* p :
       {"steps[1].id", "steps[1].uses", "steps[2].with.url", "steps[3].with.duration",
        "steps[4].timeout", "steps[5].then[0].id", "steps[5].then[0].with.value"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
}

TEST(Document, AConnectionIsRequiredUnlessTheActionRunsWithoutOne) {
  ActionCatalog catalog = TestCatalog();
  ConnectorSpec pg{"postgres", "PostgreSQL", "", "db", true, {}, {}, {}};
  pg.actions.push_back({"query", "Query", "", {{"sql", "SQL", "text", true}}, "", {}});
  catalog.Register(pg, {});
  ConnectorSpec web{"web", "Web", "", "globe", true, {}, {}, {}};
  ActionSpec get{"get", "Get", "", {{"url", "URL", "string", true}}, "", {}};
  get.connection_optional = true;
  web.actions.push_back(get);
  catalog.Register(web, {});
  ValidationContext ctx{catalog};
  Json doc = {{"name", "n"},
              {"steps",
               {{{"id", "a"}, {"uses", "web.get"}, {"with", {{"url", "https://example.com/x"}}}},
                {{"id", "b"}, {"uses", "postgres.query"}, {"with", {{"sql", "select 1"}}}}}}};
  auto r = ValidateFlowDocument(doc, ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(Paths(r.error()), std::vector<std::string>{"steps[1].connection"});
  EXPECT_TRUE(catalog.ToJson().dump().find("\"connection_optional\":true") != std::string::npos);
}

TEST(Document, UnknownConnectionIsAWarning) {
  ActionCatalog catalog = TestCatalog();
  ValidationContext ctx{catalog};
  ctx.connection_exists = [](const std::string&) { return false; };
  Json doc = {{"name", "n"},
              {"steps",
               {{{"id", "c"},
                 {"uses", "http.request"},
                 {"connection", "later"},
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
    ]})")
                 .value();
  auto r = ValidateFlowDocument(doc, ctx);
  ASSERT_FALSE(r);
  auto paths = Paths(r.error());
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"steps[1].connection", "steps[2].with.sql",
                                             "steps[3].with.url"}));
  for (const auto& d : r.error().details) {
    if (d.path != "steps[1].connection") continue;
    EXPECT_EQ(d.message,
              "connection \"warehouse\" is a connection of the postgres connector; "
              "\"http.request\" needs one of the http connector");
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
  Json doc = {
      {"name", "n"},
      {"steps",
       {{{"id", "a"}, {"uses", "data.set"}, {"with", {{"value", "{{ trigger.body.( }}"}}}}}}};
  auto r = ValidateFlowDocument(doc, ctx);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().details.size(), 1u);
  EXPECT_EQ(r.error().details[0].path, "steps[0].with.value");
}

// A renamed step leaves `{{ steps.<old id> }}` behind: the save is refused
// naming the field, as is a reference to a step that runs later.
TEST(Document, StepReferencesMustNameAnEarlierStep) {
  ActionCatalog catalog = TestCatalog();
  ValidationContext ctx{catalog};
  Json doc = ParseJson(R"({
    "name": "refs",
    "steps": [
      {"id": "hello", "uses": "data.set", "with": {"value": "{{ steps.later.output }}"}},
      {"id": "alpha", "uses": "data.set", "with": {"value": {"m": ["x", "{{ steps.helo.output & $.steps.gone.output }}"]}}},
      {"id": "check", "uses": "flow.if", "with": {"condition": "{{ steps.check.output }}"},
       "then": [{"id": "inner", "uses": "data.set", "with": {"value": "{{ steps.check.output & steps.hello.output }}"}}]},
      {"id": "later", "uses": "data.set", "if": "{{ steps.inner.output and $$.steps.nope }}", "with": {"value": 1}}
    ]})")
                 .value();
  auto r = ValidateFlowDocument(doc, ctx);
  ASSERT_FALSE(r);
  std::vector<std::string> got;
  for (const auto& d : r.error().details) got.push_back(d.path + ": " + d.message);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "steps[0].with.value: refers to step \"later\", which runs after this step",
                     "steps[1].with.value.m[1]: refers to step \"helo\", which does not exist",
                     "steps[1].with.value.m[1]: refers to step \"gone\", which does not exist",
                     "steps[2].with.condition: refers to its own step \"check\" (steps.<id> "
                     "reads an earlier step)",
                     "steps[3].if: refers to step \"nope\", which does not exist",
                 }));
}

// Only paths read from the run's context count: `steps` inside a filter or
// after a dot names a field of that value, and a lambda or function argument
// still reads the context.
TEST(Document, StepReferencesInsideExpressions) {
  ActionCatalog catalog = TestCatalog();
  ValidationContext ctx{catalog};
  auto problems = [&](const std::string& expr) {
    Json doc = {{"name", "n"},
                {"steps",
                 {{{"id", "a"}, {"uses", "data.set"}, {"with", {{"value", 1}}}},
                  {{"id", "b"}, {"uses", "data.set"}, {"with", {{"value", expr}}}}}}};
    auto r = ValidateFlowDocument(doc, ctx);
    std::vector<std::string> out;
    if (!r)
      for (const auto& d : r.error().details) out.push_back(d.message);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(problems("{{ trigger.body.steps.x }}"), V{});
  EXPECT_EQ(problems("{{ trigger.body[steps.x = 1] }}"), V{});
  EXPECT_EQ(problems("{{ trigger.items.(steps.x) }}"), V{});
  EXPECT_EQ(problems("{{ steps.a.output }} and {{ steps[0] }} {{ steps }}"), V{});
  EXPECT_EQ(problems("{{ $map([1], function($v) { steps.x.output }) }}"),
            V{"refers to step \"x\", which does not exist"});
  EXPECT_EQ(problems("{{ $count(steps.y.output) > 0 ? steps.a.output : (steps.z) }}"),
            (V{"refers to step \"y\", which does not exist",
               "refers to step \"z\", which does not exist"}));
  EXPECT_EQ(problems("{{ $string(steps.`q`.output) }}"),
            V{"refers to step \"q\", which does not exist"});
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

TEST(Document, YamlThatIsNotUtf8IsABadRequest) {
  // Found by connection_fuzz: yaml-cpp took the byte 0x8B in a key, and the
  // connection holding it could not be written as JSON (dump() threw).
  auto r = ParseDocumentText(
      "name: c\nconnector: http\nauth: {ty\x8b"
      "e: bearer, token: t}\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(r.error().message.find("UTF-8"), std::string::npos) << r.error().message;
  EXPECT_FALSE(ParseDocumentText("name: \"\xed\xa0\x80\"\n"));  // a surrogate
  EXPECT_FALSE(ParseDocumentText("name: \xc0\xaf\n"));          // an overlong '/'
  // Valid UTF-8, but its NUL byte made yaml-cpp return a string that is not.
  const char nul_text[] =
      "name: dam-prod\nconnector: http\nsettings:\n  base\x02\x00_url: \"https://\x11"
      "dam.active: true\n";
  EXPECT_FALSE(ParseDocumentText(std::string_view(nul_text, sizeof nul_text - 1)));
  auto fine = ParseDocumentText("name: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n");
  ASSERT_TRUE(fine);
  EXPECT_EQ((*fine)["name"], "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(Document, ANumberJsonCannotHoldIsABadRequest) {
  // 1e99999 overflows a double: the JSON reader refused it with an exception
  // that escaped as a 500.
  auto json = ParseDocumentText(R"({"name": "big", "settings": {"n": 1e99999}})");
  ASSERT_FALSE(json);
  EXPECT_EQ(json.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(json.error().message.find("1e99999"), std::string::npos) << json.error().message;

  auto yaml = ParseDocumentText("name: big\nsettings:\n  n: 1e99999\n");
  ASSERT_FALSE(yaml);
  EXPECT_EQ(yaml.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(yaml.error().message.find("settings.n"), std::string::npos) << yaml.error().message;
  ASSERT_EQ(yaml.error().details.size(), 1u);
  EXPECT_EQ(yaml.error().details[0].path, "settings.n");

  auto in_list = ParseDocumentText("name: big\nsteps:\n  - id: a\n    with: {v: -2e400}\n");
  ASSERT_FALSE(in_list);
  EXPECT_EQ(in_list.error().details[0].path, "steps[0].with.v");
}

TEST(Document, DeepNestingIsABadRequestNotACrash) {
  // 200,000 nested brackets: `weft validate` died of a stack overflow, and so
  // did the server on POST /api/v1/flows.
  std::string deep = R"({"name": "deep", "description": )" + std::string(200'000, '[') +
                     std::string(200'000, ']') + "}";
  auto json = ParseDocumentText(deep);
  ASSERT_FALSE(json);
  EXPECT_EQ(json.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(json.error().message.find("512 levels"), std::string::npos) << json.error().message;
  // Brackets inside strings are text, not nesting.
  auto quoted = ParseDocumentText(R"({"name": ")" + std::string(100'000, '[') + R"(\"]"})");
  ASSERT_TRUE(quoted) << quoted.error().message;

  auto yaml = ParseDocumentText("name: deep\ndescription: " + std::string(5'000, '[') +
                                std::string(5'000, ']') + "\n");
  ASSERT_FALSE(yaml);
  EXPECT_EQ(yaml.error().code, ErrorCode::kBadRequest);
  // Deep but within what yaml-cpp reads (it stops near 500 levels) is read.
  auto ok = ParseDocumentText("name: ok\ndescription: " + std::string(400, '[') +
                              std::string(400, ']') + "\n");
  ASSERT_TRUE(ok) << ok.error().message;
}

TEST(Document, AYamlAliasBombIsRefusedBeforeItIsBuilt) {
  // Nine lines of aliases expand to 10^9 values: `weft validate` ran out of
  // time and memory building them.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  text += "name: bomb\ndescription: *a8\n";
  auto doc = ParseDocumentText(text);
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(doc.error().message.find("limit of values"), std::string::npos) << doc.error().message;
  // Aliases within the limit are expanded as before.
  auto fine = ParseDocumentText("base: &b {x: 1}\nname: a\nsettings: *b\n");
  ASSERT_TRUE(fine) << fine.error().message;
  EXPECT_EQ((*fine)["settings"]["x"], 1);
}

TEST(Document, LongYamlNumbersAreRead) {
  // a scalar of many digits: read as a number (or refused), never a crash
  auto big_int = ParseDocumentText("name: n\nv: " + std::string(400, '9') + "\n");
  ASSERT_FALSE(big_int);
  EXPECT_EQ(big_int.error().code, ErrorCode::kBadRequest);
  auto long_float = ParseDocumentText("name: n\nv: 0." + std::string(200000, '1') + "\n");
  ASSERT_TRUE(long_float) << long_float.error().message;
  EXPECT_TRUE((*long_float)["v"].is_number_float());
  auto plain = ParseDocumentText("name: n\nv: 12\nw: -1.5e3\nx: 1e5x\n");
  ASSERT_TRUE(plain);
  EXPECT_EQ((*plain)["v"], 12);
  EXPECT_EQ((*plain)["w"], -1500.0);
  EXPECT_EQ((*plain)["x"], "1e5x");
}

TEST(Document, AVeryLongStepIdIsAnErrorNotACrash) {
  ActionCatalog catalog = TestCatalog();
  ValidationContext ctx{catalog};
  for (const std::string& id : {std::string(300000, 'a') + "-", std::string(300000, 'b')}) {
    Json doc = {{"name", "long"},
                {"steps", {{{"id", id}, {"uses", "data.set"}, {"with", {{"value", 1}}}}}}};
    auto r = ValidateFlowDocument(doc, ctx);
    if (id.back() == '-') {
      ASSERT_FALSE(r);
      EXPECT_EQ(Paths(r.error()), std::vector<std::string>{"steps[0].id"});
      EXPECT_LT(r.error().details[0].message.size(), 200u);
    } else {
      EXPECT_TRUE(r) << r.error().message;
    }
  }
}

TEST(Document, ExpressionBudgetSettings) {
  ActionCatalog catalog = TestCatalog();
  ValidationContext ctx{catalog};
  ctx.connection_exists = [](const std::string&) { return true; };
  auto with_settings = [&](const char* settings) {
    return ValidateFlowDocument(
        *ParseJson(std::string(R"({"name": "b", "settings": )") + settings + "}"), ctx);
  };
  EXPECT_TRUE(with_settings(R"({"expression_timeout": "2s", "expression_memory": "16MiB"})"));
  EXPECT_TRUE(with_settings(R"({"expression_memory": 1048576})"));
  for (const char* bad : {R"({"expression_timeout": "0s"})", R"({"expression_timeout": "1h"})",
                          R"({"expression_timeout": 5})"}) {
    auto r = with_settings(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(Paths(r.error()), std::vector<std::string>{"settings.expression_timeout"}) << bad;
  }
  for (const char* bad : {R"({"expression_memory": "1KiB"})", R"({"expression_memory": "lots"})",
                          R"({"expression_memory": "8GiB"})", R"({"expression_memory": -5})"}) {
    auto r = with_settings(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(Paths(r.error()), std::vector<std::string>{"settings.expression_memory"}) << bad;
  }
  EXPECT_EQ(ExpressionMemory(Json("64MiB")), size_t{64} << 20);
  EXPECT_EQ(ExpressionMemory(Json(65536)), size_t{65536});
  EXPECT_FALSE(ExpressionMemory(Json(true)));
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// A catalog with one source of the sftp connector, as connectors register theirs.
ActionCatalog PollCatalog() {
  ActionCatalog c = TestCatalog();
  ConnectorSpec sftp{"sftp", "SFTP", "", "folder", true, {}, {}, {}};
  c.Register(sftp, {});
  PollSpec files{"new_files",
                 "New files",
                 "",
                 {{"folder", "Folder", "string", true},
                  {"after", "After", "enum", false, false, {"keep", "delete", "move"}},
                  {"stable_for", "Stable for", "duration", false}},
                 "{path, size}"};
  c.RegisterPollSource("sftp", files, nullptr);
  return c;
}

Result<ValidatedFlow> ValidatePoll(const ActionCatalog& catalog, const std::string& poll) {
  ValidationContext ctx{catalog};
  ctx.connection_connector = [](const std::string& name) -> std::optional<std::string> {
    if (name == "drop") return "sftp";
    if (name == "api") return "http";
    return std::nullopt;
  };
  return ValidateFlowDocument(
      ParseJson(R"({"name": "p", "trigger": {"type": "poll", "poll": )" + poll + "}}").value(),
      ctx);
}

TEST(Document, PollTriggerValidates) {
  ActionCatalog catalog = PollCatalog();
  auto ok = ValidatePoll(catalog, R"({"every": "1m", "source": {"uses": "sftp.new_files",
      "connection": "drop", "with": {"folder": "/in", "after": "move", "stable_for": "30s"}},
      "start": "all", "emit": "batch", "batch_size": 50, "remember": "7d"})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->document.TriggerType(), "poll");
  EXPECT_EQ(ConnectionsUsed(ok->document), std::vector<std::string>{"drop"});
  auto parsed = ParsePollTrigger(ok->canonical["trigger"]);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->uses, "sftp.new_files");
  EXPECT_TRUE(parsed->start_all);
  EXPECT_TRUE(parsed->batch);
  EXPECT_EQ(parsed->batch_size, 50);
  EXPECT_EQ(parsed->remember, Millis(7LL * 24 * 3600 * 1000));
  // A full schedule object in `every`.
  auto cron = ValidatePoll(catalog, R"({"every": {"kind": "cron", "cron": "*/5 * * * *"},
      "source": {"uses": "sftp.new_files", "connection": "drop", "with": {"folder": "/in"}}})");
  EXPECT_TRUE(cron) << cron.error().message;
}

TEST(Document, PollTriggerProblemsNameTheirPaths) {
  ActionCatalog catalog = PollCatalog();
  auto r = ValidatePoll(catalog, R"({"every": "0.5s", "source": {"uses": "sftp.new_filez",
      "connection": "drop"}, "start": "old", "emit": "some", "batch_size": 5, "extra": 1})");
  ASSERT_FALSE(r);
  auto paths = Paths(r.error());
  for (const char* p : {"trigger.poll.every", "trigger.poll.source.uses", "trigger.poll.start",
                        "trigger.poll.emit", "trigger.poll.batch_size", "trigger.poll.extra"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
  for (const auto& d : r.error().details)
    if (d.path == "trigger.poll.source.uses")
      EXPECT_EQ(d.message, "unknown source \"sftp.new_filez\" (the sources: sftp.new_files)");

  // `with` against the source's inputs; a connection of another connector.
  auto w = ValidatePoll(catalog, R"({"every": "1m", "source": {"uses": "sftp.new_files",
      "connection": "api", "with": {"after": "shred", "nope": 1, "stable_for": "{{ x }}"}}})");
  ASSERT_FALSE(w);
  paths = Paths(w.error());
  for (const char* p : {"trigger.poll.source.with.folder", "trigger.poll.source.with.after",
                        "trigger.poll.source.with.nope", "trigger.poll.source.with.stable_for",
                        "trigger.poll.source.connection"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;

  auto missing = ValidatePoll(catalog, R"({"source": {"uses": "sftp.new_files",
      "with": {"folder": "/in"}}})");
  ASSERT_FALSE(missing);
  paths = Paths(missing.error());
  EXPECT_NE(std::find(paths.begin(), paths.end(), "trigger.poll.every"), paths.end());
  EXPECT_NE(std::find(paths.begin(), paths.end(), "trigger.poll.source.connection"), paths.end());

  auto once = ValidatePoll(catalog, R"({"every": {"kind": "once", "at": "2099-01-01T00:00:00"},
      "source": {"uses": "sftp.new_files", "connection": "drop", "with": {"folder": "/in"}}})");
  ASSERT_FALSE(once);
  EXPECT_EQ(Paths(once.error()), std::vector<std::string>{"trigger.poll.every.kind"});
}

}  // namespace
}  // namespace weft
