// The OpenAPI import on the vendors' own documents (tests/data/openapi/):
// each imports, the manifest loads, and a few actions are what a person
// reading the vendor's docs would expect. Plus small documents for 3.1,
// $ref cycles and hostile input.
#include "connectors/manifest/openapi_import.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "connectors/manifest/manifest.h"
#include "core/document.h"

namespace weft::connectors::manifest {
namespace {

Json LoadSpec(const std::string& rel) {
  std::ifstream in(std::string(WEFT_SOURCE_DIR) + "/tests/data/openapi/" + rel, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto j = ParseDocumentText(text.str());
  EXPECT_TRUE(j) << rel << ": " << (j ? "" : j.error().message);
  return j ? *j : Json();
}

// Imports, prints as YAML and loads the YAML back, as a user would.
std::shared_ptr<const Manifest> Import(const Json& spec, ImportOptions o,
                                       ImportResult* out = nullptr) {
  auto r = ImportOpenApi(spec, o);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) return nullptr;
  auto m = ParseManifest(ToYaml(r->manifest));
  EXPECT_TRUE(m) << (m ? "" : m.error().message);
  if (out) *out = std::move(*r);
  return m ? *m : nullptr;
}

const ManifestAction* Find(const Manifest& m, const std::string& name) {
  for (const auto& a : m.actions)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<std::string> Required(const ManifestAction& a) {
  std::vector<std::string> out;
  if (a.input.contains("required"))
    for (const auto& r : a.input["required"]) out.push_back(r.get<std::string>());
  return out;
}

TEST(OpenApiImport, SnakeCaseNames) {
  EXPECT_EQ(SnakeCase("chat.postMessage"), "chat_post_message");
  EXPECT_EQ(SnakeCase("GetFolderItems"), "get_folder_items");
  EXPECT_EQ(SnakeCase("createChatCompletion"), "create_chat_completion");
  EXPECT_EQ(SnakeCase("ListIncomingPhoneNumber"), "list_incoming_phone_number");
  EXPECT_EQ(SnakeCase("get_folders_id_items"), "get_folders_id_items");
  EXPECT_EQ(SnakeCase("X-Request-ID"), "x_request_id");
  EXPECT_EQ(SnakeCase("HTTPStatus"), "http_status");
  EXPECT_EQ(SnakeCase("2fa"), "x_2fa");
}

TEST(OpenApiImport, SlackSwagger2) {
  ImportResult r;
  auto m = Import(LoadSpec("slack/slack_web_openapi_v2.json"), {}, &r);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "slack_web_api");
  EXPECT_EQ(m->actions.size(), 174u);
  EXPECT_EQ(m->auth.type, "oauth2");
  EXPECT_EQ(m->auth.authorize_url, "https://slack.com/oauth/authorize");
  EXPECT_EQ(m->fields[0].default_value, "https://slack.com/api");
  const ManifestAction* post = Find(*m, "chat_post_message");
  ASSERT_NE(post, nullptr);
  EXPECT_EQ(post->method, "POST");
  EXPECT_EQ(post->path, "/chat.postMessage");
  EXPECT_EQ(post->body_type, "form");
  auto req = Required(*post);
  EXPECT_NE(std::find(req.begin(), req.end(), "channel"), req.end());
  const ManifestAction* list = Find(*m, "conversations_list");
  ASSERT_NE(list, nullptr);
  ASSERT_TRUE(list->paginate);
  EXPECT_EQ(list->paginate->type, "cursor");
  EXPECT_EQ(list->paginate->param, "cursor");
  EXPECT_EQ(list->paginate->cursor->Source(), "response_metadata.next_cursor");
}

TEST(OpenApiImport, BoxFiltersByTag) {
  Json spec = LoadSpec("box/openapi.json");
  auto all = Import(spec, {});
  ASSERT_TRUE(all);
  EXPECT_GT(all->actions.size(), 250u);
  EXPECT_EQ(all->fields[0].default_value, "https://api.box.com/2.0");
  auto folders = Import(spec, {{"Folders"}, {}, "box"});
  ASSERT_TRUE(folders);
  EXPECT_EQ(folders->name, "box");
  EXPECT_LT(folders->actions.size(), 20u);
  const ManifestAction* items = Find(*folders, "get_folders_id_items");
  ASSERT_NE(items, nullptr);
  EXPECT_EQ(items->path, "/folders/{folder_id}/items");
  ASSERT_TRUE(items->paginate);
  EXPECT_EQ(items->paginate->param, "marker");
  EXPECT_EQ(items->paginate->cursor->Source(), "next_marker");
  const ManifestAction* create = Find(*folders, "post_folders");
  ASSERT_NE(create, nullptr);
  auto req = Required(*create);
  EXPECT_NE(std::find(req.begin(), req.end(), "parent"), req.end());
  EXPECT_NE(std::find(req.begin(), req.end(), "name"), req.end());
}

// The list a UI offers: every operation (also those the filter left out), with its tags, and
// an `operation` value that, sent back as a filter, imports exactly that action.
TEST(OpenApiImport, OperationListNamesEveryOperationForTheFilter) {
  ImportResult r;
  auto box = Import(LoadSpec("box/openapi.json"), {{"Folders"}, {}, "box"}, &r);
  ASSERT_TRUE(box);
  ASSERT_EQ(r.operation_list.size(), r.operations_seen);
  size_t selected = 0;
  const Json* other = nullptr;
  for (const Json& op : r.operation_list) {
    bool folders = false;
    for (const auto& t : op["tags"]) folders = folders || t == "Folders";
    EXPECT_EQ(op["selected"].get<bool>(), folders) << op.dump();
    if (op["selected"].get<bool>()) {
      ++selected;
      EXPECT_NE(Find(*box, op["action"].get<std::string>()), nullptr) << op.dump();
    } else if (!other) {
      other = &op;
    }
    EXPECT_FALSE(op["method"].get<std::string>().empty());
    EXPECT_EQ(op["path"].get<std::string>()[0], '/');
  }
  EXPECT_EQ(selected, box->actions.size());
  ASSERT_NE(other, nullptr);
  auto one =
      Import(LoadSpec("box/openapi.json"), {{}, {(*other)["operation"].get<std::string>()}, "box"});
  ASSERT_TRUE(one);
  ASSERT_EQ(one->actions.size(), 1u);
  EXPECT_EQ(one->actions[0].name, (*other)["action"].get<std::string>());
}

TEST(OpenApiImport, TwilioBothDocuments) {
  auto v1 = Import(LoadSpec("twilio/twilio_messaging_v1.json"), {});
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->auth.type, "basic");
  const ManifestAction* create = Find(*v1, "create_service");
  ASSERT_NE(create, nullptr);
  EXPECT_EQ(create->body_type, "form");
  auto api = Import(LoadSpec("twilio/twilio_api_v2010.json"), {});
  ASSERT_TRUE(api);
  EXPECT_GT(api->actions.size(), 150u);
  const ManifestAction* send = Find(*api, "create_message");
  ASSERT_NE(send, nullptr);
  EXPECT_EQ(send->path, "/2010-04-01/Accounts/{account_sid}/Messages.json");
  auto req = Required(*send);
  EXPECT_NE(std::find(req.begin(), req.end(), "to"), req.end());
  const ManifestAction* list = Find(*api, "list_message");
  ASSERT_NE(list, nullptr);
  ASSERT_TRUE(list->paginate);
  EXPECT_EQ(list->paginate->type, "next_url");
}

TEST(OpenApiImport, MailchimpAsanaOpenAi) {
  auto mc = Import(LoadSpec("mailchimp/transactional.openapi.json"), {});
  ASSERT_TRUE(mc);
  EXPECT_GT(mc->actions.size(), 80u);
  const ManifestAction* send = Find(*mc, "messages_send");
  ASSERT_NE(send, nullptr);
  EXPECT_EQ(send->method, "POST");

  auto asana = Import(LoadSpec("asana/asana_oas.yaml"), {});
  ASSERT_TRUE(asana);
  EXPECT_GT(asana->actions.size(), 150u);
  const ManifestAction* tasks = Find(*asana, "get_tasks_for_project");
  ASSERT_NE(tasks, nullptr);
  ASSERT_TRUE(tasks->paginate);
  EXPECT_EQ(tasks->paginate->param, "offset");
  EXPECT_EQ(tasks->paginate->cursor->Source(), "next_page.offset");

  ImportResult r;
  auto openai =
      Import(LoadSpec("openai/openapi.yaml"), {{}, {"createChatCompletion"}, "openai"}, &r);
  ASSERT_TRUE(openai);
  ASSERT_EQ(openai->actions.size(), 1u);
  EXPECT_GT(r.operations_seen, 200u);
  EXPECT_EQ(openai->auth.type, "bearer");
  const ManifestAction& chat = openai->actions[0];
  EXPECT_EQ(chat.name, "create_chat_completion");
  auto req = Required(chat);
  EXPECT_NE(std::find(req.begin(), req.end(), "model"), req.end());
  EXPECT_NE(std::find(req.begin(), req.end(), "messages"), req.end());
}

TEST(OpenApiImport, CyclesAndRefsAreBounded) {
  auto spec = ParseDocumentText(R"({
    "openapi": "3.1.0",
    "info": {"title": "Tree Shop", "version": "1"},
    "servers": [{"url": "https://{region}.shop.example/v1/", "variables": {"region": {"default": "eu"}}}],
    "components": {
      "securitySchemes": {"key": {"type": "apiKey", "in": "query", "name": "api_key"}},
      "schemas": {
        "Node": {"type": "object", "required": ["name"], "properties": {
          "name": {"type": ["string", "null"]},
          "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
          "parent": {"$ref": "#/components/schemas/Node"}}},
        "Loop": {"$ref": "#/components/schemas/Loop"}
      }
    },
    "paths": {
      "/trees/{treeId}": {
        "parameters": [{"name": "treeId", "in": "path", "required": true, "schema": {"type": "string"}}],
        "put": {"operationId": "replaceTree", "summary": "Replace a tree",
                "parameters": [{"name": "api_key", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
                "responses": {"200": {"description": "ok"}}},
        "get": {"parameters": [{"name": "loop", "in": "query", "schema": {"$ref": "#/components/schemas/Loop"}}],
                "responses": {"200": {"description": "ok"}}}
      }
    }
  })");
  ASSERT_TRUE(spec);
  auto m = Import(*spec, {});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "tree_shop");
  EXPECT_EQ(m->fields[0].default_value, "https://eu.shop.example/v1");
  EXPECT_EQ(m->auth.type, "api_key");
  EXPECT_EQ(m->auth.in, "query");
  const ManifestAction* put = Find(*m, "replace_tree");
  ASSERT_NE(put, nullptr);
  EXPECT_EQ(put->title, "Replace a tree");
  EXPECT_EQ(put->path, "/trees/{tree_id}");
  // The api_key parameter is the connection's, not an input.
  EXPECT_FALSE(put->input["properties"].contains("api_key"));
  EXPECT_EQ(put->input["properties"]["name"]["type"], "string");
  // The cycle ends at its first repeat: a plain object.
  const Json& children = put->input["properties"]["children"];
  EXPECT_EQ(children["type"], "array");
  EXPECT_EQ(children["items"], (Json{{"type", "object"}}));
  EXPECT_NE(Find(*m, "get_trees_tree_id"), nullptr);
}

TEST(OpenApiImport, NotOpenApiIsRefused) {
  EXPECT_FALSE(ImportOpenApi(Json::parse(R"({"hello": 1})"), {}));
  EXPECT_FALSE(ImportOpenApi(Json::parse(R"({"openapi": "4.0.0", "paths": {}})"), {}));
  EXPECT_FALSE(ImportOpenApi(Json::parse(R"({"openapi": "3.0.0", "paths": {}})"), {}));
  EXPECT_FALSE(ImportOpenApi(Json::parse(R"({"swagger": "2.0", "paths": {"/a": {"get": {}}}})"),
                             {{"nope"}, {}, ""}));
  EXPECT_FALSE(ImportOpenApi(Json::parse(R"({"swagger": "2.0", "paths": {"/a": {"get": {}}}})"),
                             {{}, {}, "Bad Name"}));
  // A $ref that leads nowhere or outside the document becomes an unconstrained input.
  auto odd = ImportOpenApi(Json::parse(R"({"swagger": "2.0", "paths": {"/a": {"post": {
      "parameters": [{"in": "body", "name": "b", "schema": {"$ref": "https://elsewhere/x.json"}},
                     {"in": "query", "name": "q", "type": "string", "default": 5}]}}}})"),
                           {});
  ASSERT_TRUE(odd) << odd.error().message;
  // A default that does not fit its type is left out rather than refused.
  EXPECT_FALSE(odd->manifest["actions"]["post_a"]["input"]["properties"]["q"].contains("default"));
}

}  // namespace
}  // namespace weft::connectors::manifest
