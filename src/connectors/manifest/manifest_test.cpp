// Connector manifests: parsing with the path of each problem (hostile and
// malformed documents too), the catalog entry they become, save-time checks
// of a step's `with`, and actions run against a real HTTP server on loopback
// (tests/servers/http_server.py).
#include "connectors/manifest/manifest.h"

#include <gtest/gtest.h>

#include <chrono>

#include "connectors/testing/child_server.h"
#include "connectors/testing/run_action.h"
#include "core/document.h"

namespace weft::connectors::manifest {
namespace {

const char* kGood = R"(
name: acme
title: Acme
description: The Acme API.
version: "1.2.0"
docs_url: https://acme.example/docs
icon: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="9"/></svg>'
connection:
  fields:
    - {name: base_url, title: Base URL, type: string, default: "http://127.0.0.1:1"}
    - {name: region, type: enum, enum: [eu, us], default: eu}
  base_url: "{{ connection.base_url }}"
  headers:
    X-Region: "{{ connection.region }}"
  auth: {type: api_key, in: header, name: X-Acme-Key}
  test: {method: GET, path: /echo}
errors:
  retryable: [429, 503]
  message: error
  when: ok = false
rate_limit: {requests: 50, per: 10s, burst: 10}
pagination:
  cursor:
    type: cursor
    items: data
    cursor: meta.next
    max_pages: 10
actions:
  echo_item:
    title: Echo an item
    description: Posts an item and answers what the server saw.
    method: POST
    path: /echo
    query: {tag: "{{ input.tag }}", fixed: "yes"}
    headers: {X-Trace: "{{ input.trace }}"}
    body: {name: "{{ input.name }}", count: "{{ input.count }}", tags: "{{ input.tags }}"}
    input:
      type: object
      required: [name]
      properties:
        name: {type: string, description: The item's name.}
        count: {type: integer, default: 3}
        tag: {type: string, enum: [red, blue]}
        trace: {type: string}
        tags:
          type: array
          items: {type: object, required: [k], properties: {k: {type: string}}}
    output: "{'method': method, 'body': $eval(body), 'key': headers.`x-acme-key`, 'region': headers.`x-region`, 'query': query}"
  get_item:
    method: GET
    path: /echo/{item_id}
    input:
      type: object
      required: [item_id]
      properties:
        item_id: {type: string}
    output: path
  list_pages:
    path: /pages/cursor
    paginate: cursor
  fail_softly:
    path: /vendor/failure
  status:
    path: /status/{code}
    input: {type: object, properties: {code: {type: integer}}}
)";

bool HasProblem(const std::vector<FieldError>& p, const std::string& path) {
  for (const auto& e : p)
    if (e.path == path) return true;
  return false;
}

std::string Dump(const std::vector<FieldError>& p) {
  std::string s;
  for (const auto& e : p) s += e.path + ": " + e.message + "\n";
  return s;
}

TEST(Manifest, AGoodManifestBecomesACatalogEntry) {
  auto m = ParseManifest(kGood, "user");
  ASSERT_TRUE(m) << m.error().message << Dump(m.error().details);
  ActionCatalog catalog;
  ASSERT_TRUE(RegisterManifest(catalog, *m));
  const ConnectorSpec* c = catalog.FindConnector("acme");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->needs_connection);
  EXPECT_TRUE(c->icon.starts_with("data:image/svg+xml;base64,")) << c->icon;
  EXPECT_EQ(c->source, "user");
  EXPECT_EQ(c->version, "1.2.0");
  ASSERT_EQ(c->auth_types.size(), 1u);
  EXPECT_EQ(c->auth_types[0].name, "api_key");
  ASSERT_EQ(c->auth_types[0].fields.size(), 1u);
  EXPECT_TRUE(c->auth_types[0].fields[0].secret);
  const ActionSpec* a = catalog.FindActionSpec("acme.echo_item");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->title, "Echo an item");
  ASSERT_EQ(a->inputs.size(), 5u);
  EXPECT_EQ(a->inputs[0].name, "name");
  EXPECT_TRUE(a->inputs[0].required);
  EXPECT_EQ(a->inputs[0].help, "The item's name.");
  EXPECT_EQ(a->inputs[2].type, "enum");
  EXPECT_NE(catalog.FindAction("acme.list_pages"), nullptr);
  // The catalog JSON the UI draws its forms from.
  Json j = catalog.ToJson()["connectors"][0];
  EXPECT_EQ(j["name"], "acme");
  EXPECT_EQ(j["source"], "user");
  EXPECT_EQ(j["actions"][0]["inputs"][4]["schema"]["items"]["required"][0], "k");
  // A second manifest of that name is refused; a user manifest may be replaced.
  EXPECT_EQ(RegisterManifest(catalog, *m).error().code, ErrorCode::kConflict);
  EXPECT_TRUE(RegisterManifest(catalog, *m, true));
  EXPECT_EQ(catalog.Connectors().size(), 1u);
}

const char* kWithTrigger = R"(
name: acme
connection:
  base_url: "http://127.0.0.1:1"
pagination:
  pages: {type: page, param: page, items: items, max_pages: 5}
actions:
  noop: {path: /}
triggers:
  new_items:
    title: New items
    description: Items added or changed since the last poll.
    path: /{collection}
    query: {kind: "{{ input.kind }}"}
    paginate: pages
    key: id & "@" & updated
    cursor: $max(items.updated)
    cursor_param: since
    ordered: true
    item: an item {id, updated, ...}
    input:
      type: object
      required: [collection]
      properties:
        collection: {type: string, description: Which collection.}
        kind: {type: string, enum: [a, b]}
        limit: {type: integer}
)";

TEST(Manifest, TriggersBecomePollSourcesCheckedAtSaveTime) {
  auto m = ParseManifest(kWithTrigger);
  ASSERT_TRUE(m) << m.error().message << Dump(m.error().details);
  ASSERT_EQ((*m)->triggers.size(), 1u);
  ActionCatalog catalog;
  ASSERT_TRUE(RegisterManifest(catalog, *m));
  const PollSpec* p = catalog.FindPollSpec("acme.new_items");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->title, "New items");
  EXPECT_EQ(p->item, "an item {id, updated, ...}");
  ASSERT_EQ(p->inputs.size(), 3u);
  EXPECT_TRUE(p->inputs[0].required);
  EXPECT_EQ(p->inputs[1].type, "enum");
  EXPECT_NE(catalog.FindPollSource("acme.new_items"), nullptr);
  Json listed = catalog.ToJson()["connectors"][0]["poll_sources"];
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["name"], "new_items");

  ValidationContext ctx{catalog, [](const std::string&) { return true; }};
  auto flow = [&](Json with) {
    return ValidateFlowDocument(
        Json{{"name", "f"},
             {"trigger",
              {{"type", "poll"},
               {"poll",
                {{"every", "1m"},
                 {"source", {{"uses", "acme.new_items"}, {"connection", "c"}, {"with", with}}}}}}},
             {"steps",
              Json::array({Json{{"id", "a"}, {"uses", "acme.noop"}, {"connection", "c"}}})}},
        ctx);
  };
  auto good = flow(Json{{"collection", "tasks"}, {"kind", "a"}});
  EXPECT_TRUE(good) << good.error().message << Dump(good.error().details);
  auto bad = flow(Json{{"kind", "c"}, {"limit", "ten"}, {"colour", "red"}});
  ASSERT_FALSE(bad);
  const auto& d = bad.error().details;
  EXPECT_TRUE(HasProblem(d, "trigger.poll.source.with.collection")) << Dump(d);
  EXPECT_TRUE(HasProblem(d, "trigger.poll.source.with.kind")) << Dump(d);
  EXPECT_TRUE(HasProblem(d, "trigger.poll.source.with.limit")) << Dump(d);
  EXPECT_TRUE(HasProblem(d, "trigger.poll.source.with.colour")) << Dump(d);

  // A user manifest saved again without its trigger: the source is gone.
  auto without = ParseManifest(
      std::string(kWithTrigger).substr(0, std::string(kWithTrigger).find("triggers:")));
  ASSERT_TRUE(without) << without.error().message;
  ASSERT_TRUE(RegisterManifest(catalog, *without, true));
  EXPECT_EQ(catalog.FindPollSpec("acme.new_items"), nullptr);
  EXPECT_EQ(catalog.FindPollSource("acme.new_items"), nullptr);
}

TEST(Manifest, StepsAreCheckedAgainstTheInputSchemaAtSaveTime) {
  auto m = ParseManifest(kGood);
  ASSERT_TRUE(m);
  ActionCatalog catalog;
  ASSERT_TRUE(RegisterManifest(catalog, *m));
  ValidationContext ctx{catalog, [](const std::string&) { return true; }};
  auto flow = [&](Json with) {
    return ValidateFlowDocument(Json{{"name", "f"},
                                     {"steps", Json::array({Json{{"id", "a"},
                                                                 {"uses", "acme.echo_item"},
                                                                 {"connection", "acme1"},
                                                                 {"with", with}}})}},
                                ctx);
  };
  EXPECT_TRUE(flow(Json{{"name", "x"}}));
  EXPECT_TRUE(flow(Json{{"name", "{{ trigger.body.name }}"}, {"count", "{{ 1 + 1 }}"}}));
  auto bad = flow(Json{{"count", "many"},
                       {"tag", "green"},
                       {"tags", Json::array({Json{{"k", 1}}, Json::object()})},
                       {"colour", "red"}});
  ASSERT_FALSE(bad);
  const auto& d = bad.error().details;
  EXPECT_TRUE(HasProblem(d, "steps[0].with.name")) << Dump(d);
  EXPECT_TRUE(HasProblem(d, "steps[0].with.count")) << Dump(d);
  EXPECT_TRUE(HasProblem(d, "steps[0].with.tag")) << Dump(d);
  EXPECT_TRUE(HasProblem(d, "steps[0].with.tags[0].k")) << Dump(d);
  EXPECT_TRUE(HasProblem(d, "steps[0].with.tags[1].k")) << Dump(d);
  EXPECT_TRUE(HasProblem(d, "steps[0].with.colour")) << Dump(d);
  // Without a connection the step is refused too, like a built-in's.
  auto no_conn = ValidateFlowDocument(
      Json{{"name", "f"},
           {"steps",
            Json::array(
                {Json{{"id", "a"}, {"uses", "acme.get_item"}, {"with", Json{{"item_id", "1"}}}}})}},
      ctx);
  ASSERT_FALSE(no_conn);
  EXPECT_TRUE(HasProblem(no_conn.error().details, "steps[0].connection"));
}

struct Broken {
  const char* what;
  std::string text;
  std::string path;  // a problem expected at this path
};

TEST(Manifest, BrokenManifestsAreRefusedWholeWithThePathOfEachProblem) {
  const std::string base = "name: acme\nconnection: {base_url: 'http://x'}\n";
  std::vector<Broken> cases = {
      {"no name", "connection: {base_url: 'http://x'}\nactions: {a: {path: /}}", "name"},
      {"bad name", "name: Acme!\nconnection: {base_url: 'http://x'}\nactions: {a: {path: /}}",
       "name"},
      {"no actions", base, "actions"},
      {"actions a list", base + "actions: [a, b]", "actions"},
      {"no base_url", "name: acme\nactions: {a: {path: /}}", "connection.base_url"},
      {"unknown key", base + "actions: {a: {path: /, methd: GET}}", "actions.a.methd"},
      {"unknown top key", base + "colour: red\nactions: {a: {path: /}}", "colour"},
      {"bad method", base + "actions: {a: {path: /, method: FETCH}}", "actions.a.method"},
      {"no path", base + "actions: {a: {method: GET}}", "actions.a.path"},
      {"path param not an input", base + "actions: {a: {path: '/x/{id}'}}", "actions.a.path"},
      {"unclosed path param", base + "actions: {a: {path: '/x/{id'}}", "actions.a.path"},
      {"bad JSONata", base + "actions: {a: {path: /, output: 'a +'}}", "actions.a.output"},
      {"bad template", base + "actions: {a: {path: /, body: {x: '{{ ( }}'}}}", "actions.a.body.x"},
      {"schema type",
       base + "actions: {a: {path: /, input: {type: object, properties: {x: {type: str}}}}}",
       "actions.a.input.properties.x.type"},
      {"schema required missing",
       base + "actions: {a: {path: /, input: {type: object, required: [y], properties: {x: {}}}}}",
       "actions.a.input.required[0]"},
      {"schema unknown keyword",
       base + "actions: {a: {path: /, input: {type: object, properties: {x: {oneOf: []}}}}}",
       "actions.a.input.properties.x.oneOf"},
      {"schema bad default",
       base + "actions: {a: {path: /, input: {type: object, properties: {x: {type: integer, "
              "default: no}}}}}",
       "actions.a.input.properties.x.default"},
      {"input not an object schema", base + "actions: {a: {path: /, input: {type: array}}}",
       "actions.a.input.type"},
      {"unknown pagination style", base + "actions: {a: {path: /, paginate: pages}}",
       "actions.a.paginate"},
      {"pagination type", base + "pagination: {p: {type: scroll}}\nactions: {a: {path: /}}",
       "pagination.p.type"},
      {"cursor without cursor", base + "pagination: {p: {type: cursor}}\nactions: {a: {path: /}}",
       "pagination.p.cursor"},
      {"max_pages too large",
       base + "pagination: {p: {type: link, max_pages: 100000}}\nactions: {a: {path: /}}",
       "pagination.p.max_pages"},
      {"auth type",
       "name: acme\nconnection: {base_url: 'http://x', auth: {type: magic}}\nactions: {a: {path: "
       "/}}",
       "connection.auth.type"},
      {"api key without name",
       "name: acme\nconnection: {base_url: 'http://x', auth: {type: api_key}}\nactions: {a: {path: "
       "/}}",
       "connection.auth.name"},
      {"oauth2 without token_url",
       "name: acme\nconnection: {base_url: 'http://x', auth: {type: oauth2, authorize_url: "
       "'https://a'}}\n"
       "actions: {a: {path: /}}",
       "connection.auth.token_url"},
      {"field type",
       "name: acme\nconnection: {base_url: 'http://x', fields: [{name: a, type: color}]}\nactions: "
       "{a: {path: /}}",
       "connection.fields[0].type"},
      {"duplicate field",
       "name: acme\nconnection: {base_url: 'http://x', fields: [{name: a}, {name: a}]}\nactions: "
       "{a: {path: /}}",
       "connection.fields[1].name"},
      {"icon not svg", base + "icon: '<script>alert(1)</script>'\nactions: {a: {path: /}}", "icon"},
      {"retryable status", base + "errors: {retryable: [99]}\nactions: {a: {path: /}}",
       "errors.retryable[0]"},
      {"rate limit per", base + "rate_limit: {requests: 5, per: soon}\nactions: {a: {path: /}}",
       "rate_limit.per"},
      {"rate limit per zero", base + "rate_limit: {requests: 5, per: 0s}\nactions: {a: {path: /}}",
       "rate_limit.per"},
      {"rate limit without requests", base + "rate_limit: {per: 1s}\nactions: {a: {path: /}}",
       "rate_limit.requests"},
      {"rate limit burst", base + "rate_limit: {requests: 5, burst: 0}\nactions: {a: {path: /}}",
       "rate_limit.burst"},
      {"rate limit unknown field",
       base + "rate_limit: {requests: 5, window: 1s}\nactions: {a: {path: /}}",
       "rate_limit.window"},
      {"rate limit a number", base + "rate_limit: 5\nactions: {a: {path: /}}", "rate_limit"},
      {"triggers a list", base + "triggers: [a]\nactions: {a: {path: /}}", "triggers"},
      {"trigger not a map", base + "triggers: {t: 1}\nactions: {a: {path: /}}", "triggers.t"},
      {"bad trigger name",
       base + "triggers: {New-Items: {path: /, key: id}}\nactions: {a: {path: /}}",
       "triggers.New-Items"},
      {"trigger without key", base + "triggers: {t: {path: /items}}\nactions: {a: {path: /}}",
       "triggers.t.key"},
      {"trigger without path", base + "triggers: {t: {key: id}}\nactions: {a: {path: /}}",
       "triggers.t.path"},
      {"trigger bad key JSONata",
       base + "triggers: {t: {path: /, key: 'id +'}}\nactions: {a: {path: /}}", "triggers.t.key"},
      {"trigger bad cursor JSONata",
       base + "triggers: {t: {path: /, key: id, cursor: '$max('}}\nactions: {a: {path: /}}",
       "triggers.t.cursor"},
      {"trigger unknown field",
       base + "triggers: {t: {path: /, key: id, output: body}}\nactions: {a: {path: /}}",
       "triggers.t.output"},
      {"trigger method",
       base + "triggers: {t: {path: /, key: id, method: DELETE}}\nactions: {a: {path: /}}",
       "triggers.t.method"},
      {"trigger ordered not a boolean",
       base + "triggers: {t: {path: /, key: id, cursor: x, ordered: sometimes}}\nactions: {a: "
              "{path: /}}",
       "triggers.t.ordered"},
      {"trigger ordered without cursor",
       base + "triggers: {t: {path: /, key: id, ordered: true}}\nactions: {a: {path: /}}",
       "triggers.t.ordered"},
      {"trigger cursor_param without cursor",
       base + "triggers: {t: {path: /, key: id, cursor_param: since}}\nactions: {a: {path: /}}",
       "triggers.t.cursor_param"},
      {"trigger unknown pagination style",
       base + "triggers: {t: {path: /, key: id, paginate: pages}}\nactions: {a: {path: /}}",
       "triggers.t.paginate"},
      {"trigger path param not an input",
       base + "triggers: {t: {path: '/x/{project}', key: id}}\nactions: {a: {path: /}}",
       "triggers.t.path"},
      {"trigger input schema",
       base + "triggers: {t: {path: /, key: id, input: {type: object, properties: {x: {type: "
              "str}}}}}\n"
              "actions: {a: {path: /}}",
       "triggers.t.input.properties.x.type"},
      {"bad action name", base + "actions: {Send-It: {path: /}}", "actions.Send-It"},
  };
  for (const auto& c : cases) {
    auto m = ParseManifest(c.text);
    ASSERT_FALSE(m) << c.what;
    EXPECT_EQ(m.error().code, ErrorCode::kValidation) << c.what;
    EXPECT_TRUE(HasProblem(m.error().details, c.path))
        << c.what << ": wanted " << c.path << ", got\n"
        << Dump(m.error().details);
    EXPECT_NE(m.error().message.find(m.error().details.front().path), std::string::npos)
        << m.error().message;
  }
  // Not a map, not YAML at all.
  EXPECT_FALSE(ParseManifest("- a\n- b\n"));
  EXPECT_FALSE(ParseManifest("{ \"name\": "));
  EXPECT_FALSE(ParseManifest("name: [unclosed"));
}

TEST(Manifest, HostileManifestsCostBoundedTimeAndMemory) {
  auto start = std::chrono::steady_clock::now();
  // Larger than the limit: refused before it is parsed.
  std::string huge = "name: acme\ndescription: '" + std::string(kMaxManifestBytes, 'x') + "'\n";
  auto m = ParseManifest(huge);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("larger than"), std::string::npos);
  // Deep nesting in YAML and JSON.
  EXPECT_FALSE(ParseManifest(std::string(100000, '[') + std::string(100000, ']')));
  EXPECT_FALSE(ParseManifest("name: acme\nactions: " + std::string(50000, '[')));
  // A YAML alias bomb: a few lines that expand to 10^9 values.
  std::string bomb = "name: acme\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    bomb += "]\n";
  }
  auto b = ParseManifest(bomb);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("expands to more than"), std::string::npos) << b.error().message;
  // A schema nested past the limit.
  std::string deep = "{type: object}";
  for (int i = 0; i < 40; ++i) deep = "{type: object, properties: {x: " + deep + "}}";
  auto d = ParseManifest(
      "name: acme\nconnection: {base_url: 'http://x'}\nactions: {a: {path: /, input: " + deep +
      "}}");
  ASSERT_FALSE(d);
  EXPECT_NE(Dump(d.error().details).find("nested more than"), std::string::npos);
  // Too many actions.
  std::string many = "name: acme\nconnection: {base_url: 'http://x'}\nactions:\n";
  for (size_t i = 0; i <= kMaxManifestActions; ++i)
    many += "  a" + std::to_string(i) + ": {path: /}\n";
  auto t = ParseManifest(many);
  ASSERT_FALSE(t);
  EXPECT_TRUE(HasProblem(t.error().details, "actions"));
  // Thousands of errors are reported, but not without bound.
  std::string noisy = "name: acme\nconnection: {base_url: 'http://x'}\nactions:\n";
  for (int i = 0; i < 1500; ++i) noisy += "  a" + std::to_string(i) + ": {nope: 1}\n";
  auto n = ParseManifest(noisy);
  ASSERT_FALSE(n);
  EXPECT_LE(n.error().details.size(), 200u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

class ManifestRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::ChildServer(
        {testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/http_server.py"});
    ASSERT_GT(server_->port(), 0) << server_->error();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    auto m = ParseManifest(kGood);
    ASSERT_TRUE(m) << m.error().message;
    ASSERT_TRUE(RegisterManifest(catalog_, *m));
    conn_ = testing::MakeConnection(
        "acme", Json{{"base_url", "http://127.0.0.1:" + std::to_string(server_->port())}},
        Json{{"type", "api_key"}, {"value", "s3cret-key"}});
  }
  testing::ActionRun Run(const std::string& action, Json input) {
    return testing::RunAction(catalog_, "acme." + action, input, &conn_);
  }
  static testing::ChildServer* server_;
  ActionCatalog catalog_;
  Connection conn_;
};
testing::ChildServer* ManifestRun::server_ = nullptr;

TEST_F(ManifestRun, AnActionSendsWhatTheManifestSays) {
  auto r = Run("echo_item",
               Json{{"name", "widget"}, {"tag", "red"}, {"tags", Json::array({Json{{"k", "a"}}})}});
  ASSERT_EQ(r.error(), "");
  const Json& out = r.output();
  EXPECT_EQ(out["method"], "POST");
  // The default filled in, the absent optional input (trace) left out.
  EXPECT_EQ(out["body"], (Json{{"name", "widget"}, {"count", 3}, {"tags", {{{"k", "a"}}}}}));
  EXPECT_EQ(out["key"], "s3cret-key");
  EXPECT_EQ(out["region"], "eu");
  EXPECT_EQ(out["query"], (Json{{"tag", "red"}, {"fixed", "yes"}}));
}

TEST_F(ManifestRun, PathInputsArePercentEncoded) {
  auto r = Run("get_item", Json{{"item_id", "a/b c"}});
  ASSERT_EQ(r.error(), "");
  EXPECT_EQ(r.output(), "/echo/a%2Fb%20c");
}

TEST_F(ManifestRun, ResolvedInputsAreCheckedAtRunTime) {
  auto r = Run("echo_item", Json{{"name", "w"}, {"count", "three"}});
  ASSERT_TRUE(r.outcome.error);
  EXPECT_EQ(r.outcome.error->code, ErrorCode::kValidation);
  EXPECT_NE(r.error().find("with.count"), std::string::npos) << r.error();
  auto missing = Run("echo_item", Json::object());
  EXPECT_NE(missing.error().find("with.name is required"), std::string::npos) << missing.error();
}

TEST_F(ManifestRun, CursorPagesAreCollected) {
  auto r = Run("list_pages", Json::object());
  ASSERT_EQ(r.error(), "");
  EXPECT_EQ(r.output(), (Json{{{"id", "a"}}, {{"id", "b"}}, {{"id", "c"}}}));
}

TEST_F(ManifestRun, TheVendorsErrorShapeIsReadAndSecretsNeverShow) {
  auto soft = Run("fail_softly", Json::object());
  ASSERT_TRUE(soft.outcome.error);
  EXPECT_NE(soft.error().find("Acme: channel_not_found"), std::string::npos) << soft.error();
  EXPECT_FALSE(soft.outcome.retryable);
  auto busy = Run("status", Json{{"code", 503}});
  ASSERT_TRUE(busy.outcome.error);
  EXPECT_TRUE(busy.outcome.retryable);
  ASSERT_TRUE(busy.outcome.retry_after);
  EXPECT_EQ(busy.outcome.retry_after->count(), 7000);
  EXPECT_NE(busy.error().find("Acme: boom 503"), std::string::npos) << busy.error();
  // 500 is not in this manifest's retryable list.
  auto broken = Run("status", Json{{"code", 500}});
  EXPECT_FALSE(broken.outcome.retryable);
  for (const auto& r : {soft, busy, broken})
    EXPECT_EQ(r.error().find("s3cret-key"), std::string::npos) << r.error();
}

TEST_F(ManifestRun, TheConnectionTestRunsTheTestRequest) {
  const ConnectionTester* t = catalog_.FindTester("acme");
  ASSERT_NE(t, nullptr);
  SystemClock clock;
  auto ok = (*t)(conn_, clock);
  EXPECT_TRUE(ok.ok) << ok.message;
  Connection nowhere = conn_;
  nowhere.settings["base_url"] = "http://127.0.0.1:1";
  EXPECT_FALSE((*t)(nowhere, clock).ok);
}

// Each pagination style against a server of the test's own, and max_pages
// stopping one that never ends.
TEST_F(ManifestRun, EveryPaginationStyleStopsWhereItShould) {
  std::string text = R"(
name: pages
connection:
  fields: [{name: base_url, default: "http://127.0.0.1:1"}]
  base_url: "{{ connection.base_url }}"
pagination:
  forever: {type: cursor, items: items, cursor: next, max_pages: 4}
actions:
  offset:
    path: /pages/offset
    paginate: {type: offset, items: results, limit: 3}
  page:
    path: /pages/number
    paginate: {type: page}
  link:
    path: /pages/link
    paginate: {type: link, items: items}
  next_url:
    path: /pages/next
    paginate: {type: next_url, items: items, next: next_page_uri}
  forever:
    path: /pages/forever
    paginate: forever
    output: "{'count': $count($)}"
  elsewhere:
    path: /pages/elsewhere
    paginate: {type: next_url, items: items, next: next}
)";
  auto m = ParseManifest(text);
  ASSERT_TRUE(m) << m.error().message << Dump(m.error().details);
  ASSERT_TRUE(RegisterManifest(catalog_, *m));
  Connection c = testing::MakeConnection(
      "pages", Json{{"base_url", "http://127.0.0.1:" + std::to_string(server_->port())}});
  auto run = [&](const std::string& a) {
    return testing::RunAction(catalog_, "pages." + a, Json::object(), &c);
  };
  EXPECT_EQ(run("offset").output(), Json::parse("[0,1,2,3,4,5,6]")) << run("offset").error();
  EXPECT_EQ(run("page").output(), Json::parse("[1,2,3]"));
  EXPECT_EQ(run("link").output(), Json::parse("[11,12,21,22,31,32]"));
  EXPECT_EQ(run("next_url").output(), Json::parse("[1,2,3]"));
  EXPECT_EQ(run("forever").output(), (Json{{"count", 4}}));
  auto away = run("elsewhere");
  ASSERT_TRUE(away.outcome.error);
  EXPECT_NE(away.error().find("another host"), std::string::npos) << away.error();
}

TEST(Manifest, EveryBuiltInManifestLoads) {
  ActionCatalog catalog;
  for (const auto& b : BuiltinManifests()) {
    auto m = ParseManifest(b.text, "builtin");
    ASSERT_TRUE(m) << b.file << ": " << m.error().message << "\n" << Dump(m.error().details);
    EXPECT_TRUE(RegisterManifest(catalog, *m)) << b.file;
    EXPECT_FALSE((*m)->icon_svg.empty()) << b.file << " has no icon";
  }
  // Slack's trigger sends back the newest message's ts, whatever the order.
  const PollSpec* slack = catalog.FindPollSpec("slack.new_messages");
  ASSERT_NE(slack, nullptr);
  std::shared_ptr<const Manifest> m;
  for (const auto& b : BuiltinManifests())
    if (b.file.find("/slack/") != std::string::npos) m = *ParseManifest(b.text, "builtin");
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->triggers.size(), 1u);
  Json items = {{"items",
                 {{{"ts", "1512104434.000490"}},
                  {{"ts", "1512085950.000216"}},
                  {{"ts", "1512104434.000031"}}}}};
  auto next = m->triggers[0].cursor->Evaluate(items, {}, {});
  ASSERT_TRUE(next.ok()) << next.error->message;
  EXPECT_EQ(*next.value, "1512104434.000490");
}

}  // namespace
}  // namespace weft::connectors::manifest
