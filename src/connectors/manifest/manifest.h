// Connector manifests: an application (Slack, Box, ...) described as a YAML
// document instead of code: its connection (fields, base URL, headers, auth,
// a test request), its error shapes, pagination styles and actions (method,
// path, query, headers, body, an input schema, an output JSONata). The format
// is docs/connector-manifests.md. ParseManifest checks a whole document and
// refuses it with the path of every problem; a parsed Manifest is immutable
// and shared by the actions it registers, so it is safe across threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "core/action.h"
#include "expr/expr.h"

namespace weft::connectors::manifest {

// A JSON value whose strings may hold {{ }} templates, compiled once. Render
// evaluates each over a context ({input, connection, auth}); an object member
// whose single expression is undefined (or null) is left out, so an optional
// input absent from the step sends nothing.
class JsonTemplate {
 public:
  JsonTemplate() = default;
  // Compiles every template in `source`, appending errors at `path`.
  static JsonTemplate Compile(const Json& source, const std::string& path,
                              std::vector<FieldError>& errors);
  bool empty() const { return !node_; }
  // Nullopt when the whole value is undefined.
  Result<std::optional<Json>> Render(const Json& context, const expr::EvalLimits& limits) const;

  struct Node;

 private:
  std::shared_ptr<const Node> node_;
};

struct Pagination {
  std::string type;              // cursor | offset | page | link | next_url
  expr::ExpressionPtr items;     // the page's items in the body; null: the body
  expr::ExpressionPtr cursor;    // cursor: the next cursor in the body
  expr::ExpressionPtr next_url;  // next_url: the next page's URL in the body
  std::string param;             // cursor | offset | page: the query parameter
  std::string limit_param;       // offset: the page size parameter
  int64_t limit = 0;             // offset: the page size sent
  int64_t start = 0;             // offset (0) | page (1): the first value
  int64_t max_pages = 10;        // always stops here
};

struct ManifestAction {
  std::string name;
  std::string title;
  std::string description;
  std::string method = "GET";
  std::string path;  // "/files/{file_id}": {name} is input.name, percent-encoded
  JsonTemplate query, headers, body;
  std::string body_type = "json";  // json | form | multipart | file | text
  Json input = Json::object();     // the input schema (an object schema)
  expr::ExpressionPtr output;      // over the body ($status, $headers bound); null: the body
  std::optional<Pagination> paginate;
  std::string response = "auto";  // auto | json | text | file
};

// A polling trigger (docs/connector-manifests.md#triggers): the poll source
// `<app>.<name>` (docs/polling.md), listing the API through the connection
// as an action would, each item emitted once as http.new_items does.
struct ManifestTrigger {
  std::string name;
  ManifestAction request;      // method, path, query, headers, body, input, paginate
  expr::ExpressionPtr items;   // the page's items; null: the pagination style's, else the body
  expr::ExpressionPtr key;     // an item's identity (required)
  expr::ExpressionPtr cursor;  // over {response, items, cursor}: sent back next time
  std::string cursor_param = "since";
  bool ordered = false;  // the API lists oldest first, in the cursor's order
  std::string item;      // what trigger.item holds, for people
};

struct ManifestAuth {
  std::string type = "none";  // none | basic | bearer | api_key | oauth2
  std::string in = "header";  // api_key: header | query | body
  std::string name;           // api_key: the header, parameter or body field
  std::string grant;          // oauth2: authorization_code | client_credentials
  std::string authorize_url, token_url, scope, client_auth = "basic";
};

struct Manifest {
  std::string name, title, description, version, docs_url, icon_svg;
  std::vector<FieldSpec> fields;  // the connection's settings
  JsonTemplate base_url, headers;
  ManifestAuth auth;
  std::optional<ManifestAction> test;  // the connection test's request
  std::vector<long> retryable = {408, 429, 500, 502, 503, 504};
  expr::ExpressionPtr error_message;  // over the body of a failed answer
  expr::ExpressionPtr error_when;     // over a 2xx body: true means the call failed
  Json rate_limit;                    // {requests, per, burst}: parsed and checked (see docs)
  std::vector<ManifestAction> actions;
  std::vector<ManifestTrigger> triggers;
  std::string source;  // "builtin" or "user"
  std::string text;    // the document as given
};

// Manifests larger than this are refused (a generated Box manifest is ~400 KiB).
inline constexpr size_t kMaxManifestBytes = size_t{4} << 20;
inline constexpr size_t kMaxManifestActions = 2000;
inline constexpr size_t kMaxIconBytes = size_t{64} << 10;

// The deepest nesting of [ and { outside quoted strings in a JSON or YAML
// text, counted without parsing (a parser and the JSON values it builds
// recurse once per level, so a hostile text is measured before it is read).
size_t FlowNesting(std::string_view text);
inline constexpr size_t kMaxNesting = 256;
// Checks a JSON or YAML text before it is parsed: nesting (FlowNesting and
// YAML's) at most kMaxNesting, and at most `max_nodes` values once YAML
// aliases are expanded.
Result<void> CheckDocumentSize(std::string_view text, size_t max_nodes);

// Reads and checks a manifest (YAML or JSON). kValidation with one detail
// per problem, each with its path ("actions.send.input.properties.to.type").
Result<std::shared_ptr<const Manifest>> ParseManifest(std::string_view text,
                                                      std::string source = "user");

// The catalog entry the manifest stands for (connection form, step forms, icon).
ConnectorSpec ToConnectorSpec(const Manifest& m);

// The poll source a trigger stands for (its `with` fields from its input schema).
PollSpec ToPollSpec(const ManifestTrigger& t);

// Registers the manifest's connector, its actions (`<name>.<action>`), its
// poll sources (`<name>.<trigger>`), its connection test and (oauth2 authorization_code) its code
// exchange. kConflict when a connector of that name is already registered, unless `replace` is set
// and that connector is a user manifest (then it is replaced).
Result<void> RegisterManifest(ActionCatalog& catalog, std::shared_ptr<const Manifest> m,
                              bool replace = false);

// The manifests compiled into the binary (connectors/<app>/connector.yaml), by file name.
struct BuiltinManifest {
  std::string file;  // "connectors/slack/connector.yaml"
  std::string_view text;
};
const std::vector<BuiltinManifest>& BuiltinManifests();

}  // namespace weft::connectors::manifest
