#include "connectors/manifest/manifest.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "common/base64.h"
#include "common/time_format.h"
#include "core/document.h"
#include "core/input_schema.h"
#include "core/rate_limit.h"

namespace weft::connectors::manifest {

// ---- templates ------------------------------------------------------------------

struct JsonTemplate::Node {
  enum class Kind { kLiteral, kTemplate, kObject, kArray } kind = Kind::kLiteral;
  Json literal;
  std::shared_ptr<const expr::Template> tpl;
  // An object's member names, in order; its values are `items` (clang
  // refuses a vector of pairs holding Node while Node is incomplete).
  std::vector<std::string> keys;
  std::vector<Node> items;
};

namespace {

using Node = JsonTemplate::Node;

Node CompileNode(const Json& v, const std::string& path, std::vector<FieldError>& errors) {
  Node n;
  if (v.is_string() && expr::Template::HasExpressions(v.get_ref<const std::string&>())) {
    auto compiled = expr::Template::Compile(v.get_ref<const std::string&>());
    if (auto* e = std::get_if<expr::Template::CompileError>(&compiled)) {
      errors.push_back({path, "bad template: " + e->error.message});
      return n;
    }
    n.kind = Node::Kind::kTemplate;
    n.tpl = std::get<std::shared_ptr<const expr::Template>>(compiled);
  } else if (v.is_object()) {
    n.kind = Node::Kind::kObject;
    for (auto it = v.begin(); it != v.end(); ++it) {
      n.keys.push_back(it.key());
      n.items.push_back(CompileNode(it.value(), path + "." + it.key(), errors));
    }
  } else if (v.is_array()) {
    n.kind = Node::Kind::kArray;
    for (size_t i = 0; i < v.size(); ++i)
      n.items.push_back(CompileNode(v[i], path + "[" + std::to_string(i) + "]", errors));
  } else {
    n.literal = v;
  }
  return n;
}

Result<std::optional<Json>> RenderNode(const Node& n, const Json& ctx,
                                       const expr::EvalLimits& limits) {
  switch (n.kind) {
    case Node::Kind::kLiteral:
      return std::optional<Json>(n.literal);
    case Node::Kind::kTemplate: {
      auto r = n.tpl->Render(ctx, {}, limits);
      if (r.error) return Fail(ErrorCode::kValidation, r.error->message);
      return r.value;
    }
    case Node::Kind::kObject: {
      Json out = Json::object();
      for (size_t i = 0; i < n.keys.size(); ++i) {
        const std::string& k = n.keys[i];
        auto v = RenderNode(n.items[i], ctx, limits);
        if (!v) return Fail(v.error().code, k + ": " + v.error().message);
        if (*v && !(*v)->is_null()) out[k] = std::move(**v);
      }
      return std::optional<Json>(std::move(out));
    }
    case Node::Kind::kArray: {
      Json out = Json::array();
      for (const auto& child : n.items) {
        auto v = RenderNode(child, ctx, limits);
        if (!v) return Fail(v.error().code, v.error().message);
        if (*v) out.push_back(std::move(**v));
      }
      return std::optional<Json>(std::move(out));
    }
  }
  return std::optional<Json>();
}

}  // namespace

JsonTemplate JsonTemplate::Compile(const Json& source, const std::string& path,
                                   std::vector<FieldError>& errors) {
  JsonTemplate t;
  if (source.is_null()) return t;
  t.node_ = std::make_shared<Node>(CompileNode(source, path, errors));
  return t;
}

Result<std::optional<Json>> JsonTemplate::Render(const Json& context,
                                                 const expr::EvalLimits& limits) const {
  if (!node_) return std::optional<Json>();
  return RenderNode(*node_, context, limits);
}

// ---- the document ---------------------------------------------------------------

namespace {

bool IsName(const std::string& s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

const std::set<std::string> kFieldTypes = {"string", "text",  "number", "integer",  "boolean",
                                           "object", "array", "any",    "duration", "enum"};
const std::set<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};

class Reader {
 public:
  std::vector<FieldError> errors;

  void Err(const std::string& path, const std::string& message) {
    if (errors.size() < 200) errors.push_back({path, message});
  }

  // Keys outside `allowed` are errors (a typo must not be silently ignored).
  void Keys(const Json& obj, const std::string& path, const std::set<std::string>& allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!allowed.count(it.key()))
        Err(path.empty() ? it.key() : path + "." + it.key(), "is not a manifest field here");
  }

  std::string Str(const Json& obj, const char* key, const std::string& path, bool required,
                  size_t max = 4096) {
    auto it = obj.find(key);
    std::string at = path.empty() ? key : path + "." + key;
    if (it == obj.end() || it->is_null()) {
      if (required) Err(at, "is required");
      return "";
    }
    if (!it->is_string()) {
      Err(at, "must be a string");
      return "";
    }
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > max) {
      Err(at, "is longer than " + std::to_string(max) + " characters");
      return "";
    }
    if (required && s.empty()) Err(at, "is required");
    return s;
  }

  int64_t Int(const Json& obj, const char* key, const std::string& path, int64_t fallback,
              int64_t lo, int64_t hi) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    std::string at = path + "." + key;
    if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
      Err(at, "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
      return fallback;
    }
    return it->get<int64_t>();
  }

  expr::ExpressionPtr Expr(const Json& obj, const char* key, const std::string& path) {
    std::string src = Str(obj, key, path, false);
    if (src.empty()) return nullptr;
    auto c = expr::Expression::Compile(src);
    if (c.error) {
      Err(path + "." + key, "bad JSONata: " + c.error->message);
      return nullptr;
    }
    return c.expression;
  }

  FieldSpec Field(const Json& j, const std::string& path) {
    FieldSpec f;
    if (!j.is_object()) {
      Err(path, "must be a field {name, type, ...}");
      return f;
    }
    Keys(j, path, {"name", "title", "type", "required", "secret", "default", "help", "enum"});
    f.name = Str(j, "name", path, true, 64);
    if (!f.name.empty() && !IsName(f.name)) Err(path + ".name", "must match [a-z][a-z0-9_]*");
    f.title = Str(j, "title", path, false);
    f.help = Str(j, "help", path, false);
    std::string type = Str(j, "type", path, false);
    if (!type.empty()) {
      if (!kFieldTypes.count(type))
        Err(path + ".type",
            "must be string, text, number, integer, boolean, object, array, any, duration or enum");
      f.type = type;
    }
    if (auto r = j.find("required"); r != j.end()) {
      if (!r->is_boolean())
        Err(path + ".required", "must be true or false");
      else
        f.required = r->get<bool>();
    }
    if (auto r = j.find("secret"); r != j.end()) {
      if (!r->is_boolean())
        Err(path + ".secret", "must be true or false");
      else
        f.secret = r->get<bool>();
    }
    if (auto e = j.find("enum"); e != j.end()) {
      if (!e->is_array() || e->empty()) {
        Err(path + ".enum", "must be a non-empty list of strings");
      } else {
        for (const auto& v : *e)
          if (v.is_string())
            f.enum_values.push_back(v.get<std::string>());
          else
            Err(path + ".enum", "must be a list of strings");
        f.type = "enum";
      }
    } else if (f.type == "enum") {
      Err(path + ".enum", "is required for type enum");
    }
    if (auto d = j.find("default"); d != j.end()) f.default_value = *d;
    return f;
  }

  Pagination Paginate(const Json& j, const std::string& path) {
    Pagination p;
    if (!j.is_object()) {
      Err(path, "must be a pagination style {type, ...}");
      return p;
    }
    Keys(
        j, path,
        {"type", "items", "cursor", "param", "limit_param", "limit", "start", "next", "max_pages"});
    p.type = Str(j, "type", path, true);
    static const std::set<std::string> kTypes = {"cursor", "offset", "page", "link", "next_url"};
    if (!p.type.empty() && !kTypes.count(p.type))
      Err(path + ".type", "must be cursor, offset, page, link or next_url");
    p.items = Expr(j, "items", path);
    p.param = Str(j, "param", path, false, 128);
    p.max_pages = Int(j, "max_pages", path, 10, 1, 1000);
    if (p.type == "cursor") {
      p.cursor = Expr(j, "cursor", path);
      if (!p.cursor)
        Err(path + ".cursor", "is required: a JSONata for the next cursor in the body");
      if (p.param.empty()) p.param = "cursor";
    } else if (p.type == "offset") {
      if (p.param.empty()) p.param = "offset";
      p.limit_param = Str(j, "limit_param", path, false, 128);
      if (p.limit_param.empty()) p.limit_param = "limit";
      p.limit = Int(j, "limit", path, 0, 0, 100000);
      p.start = Int(j, "start", path, 0, 0, int64_t{1} << 40);
    } else if (p.type == "page") {
      if (p.param.empty()) p.param = "page";
      p.start = Int(j, "start", path, 1, 0, int64_t{1} << 40);
    } else if (p.type == "next_url") {
      p.next_url = Expr(j, "next", path);
      if (!p.next_url) Err(path + ".next", "is required: a JSONata for the next page's URL");
    }
    return p;
  }

  ManifestAction Action(const std::string& name, const Json& j, const std::string& path,
                        const std::map<std::string, Pagination>& styles, bool is_test) {
    ManifestAction a;
    a.name = name;
    if (!j.is_object()) {
      Err(path, "must be an action {method, path, ...}");
      return a;
    }
    if (is_test)
      Keys(j, path, {"method", "path", "query", "headers", "body", "body_type"});
    else
      Keys(j, path,
           {"title", "description", "method", "path", "query", "headers", "body", "body_type",
            "input", "output", "paginate", "response"});
    a.title = Str(j, "title", path, false);
    if (a.title.empty()) a.title = name;
    a.description = Str(j, "description", path, false, 16384);
    a.method = Str(j, "method", path, false, 16);
    if (a.method.empty()) a.method = "GET";
    std::transform(a.method.begin(), a.method.end(), a.method.begin(), ::toupper);
    if (!kMethods.count(a.method))
      Err(path + ".method", "must be GET, POST, PUT, PATCH, DELETE or HEAD");
    a.path = Str(j, "path", path, true, 2048);
    a.query = JsonTemplate::Compile(j.value("query", Json(nullptr)), path + ".query", errors);
    if (j.contains("query") && !j["query"].is_object() && !j["query"].is_null())
      Err(path + ".query", "must be a map of parameter to value");
    a.headers = JsonTemplate::Compile(j.value("headers", Json(nullptr)), path + ".headers", errors);
    if (j.contains("headers") && !j["headers"].is_object() && !j["headers"].is_null())
      Err(path + ".headers", "must be a map of header to value");
    a.body = JsonTemplate::Compile(j.value("body", Json(nullptr)), path + ".body", errors);
    std::string bt = Str(j, "body_type", path, false);
    if (!bt.empty()) a.body_type = bt;
    static const std::set<std::string> kBodyTypes = {"json", "form", "multipart", "file", "text"};
    if (!kBodyTypes.count(a.body_type))
      Err(path + ".body_type", "must be json, form, multipart, file or text");
    if (auto in = j.find("input"); in != j.end() && !in->is_null()) {
      size_t before = errors.size();
      CheckSchema(*in, path + ".input", errors);
      if (errors.size() == before && in->value("type", "object") != "object")
        Err(path + ".input.type", "must be object (each property is one input of the step)");
      if (errors.size() == before) a.input = *in;
      if (a.input.contains("properties"))
        for (auto it = a.input["properties"].begin(); it != a.input["properties"].end(); ++it)
          if (!IsName(it.key()))
            Err(path + ".input.properties." + it.key(), "an input name must match [a-z][a-z0-9_]*");
    }
    // Every {name} of the path is an input.
    for (size_t pos = a.path.find('{'); pos != std::string::npos; pos = a.path.find('{', pos + 1)) {
      size_t end = a.path.find('}', pos);
      if (end == std::string::npos) {
        Err(path + ".path", "has an unclosed {");
        break;
      }
      std::string p = a.path.substr(pos + 1, end - pos - 1);
      if (is_test) {
        Err(path + ".path", "a test request takes no inputs ({" + p + "})");
      } else if (!a.input.contains("properties") || !a.input["properties"].contains(p)) {
        Err(path + ".path", "{" + p + "} is not an input (add it to input.properties)");
      }
    }
    a.output = Expr(j, "output", path);
    if (auto pg = j.find("paginate"); pg != j.end() && !pg->is_null()) {
      if (pg->is_string()) {
        auto it = styles.find(pg->get<std::string>());
        if (it == styles.end())
          Err(path + ".paginate", "\"" + pg->get<std::string>() + "\" is not a pagination style");
        else
          a.paginate = it->second;
      } else {
        a.paginate = Paginate(*pg, path + ".paginate");
      }
    }
    std::string resp = Str(j, "response", path, false);
    if (!resp.empty()) a.response = resp;
    if (a.response != "auto" && a.response != "json" && a.response != "text" &&
        a.response != "file")
      Err(path + ".response", "must be auto, json, text or file");
    if (a.paginate && a.response == "file")
      Err(path + ".response", "file cannot be combined with paginate");
    return a;
  }

  ManifestTrigger Trigger(const std::string& name, const Json& j, const std::string& path,
                          const std::map<std::string, Pagination>& styles) {
    ManifestTrigger t;
    t.name = name;
    if (!j.is_object()) {
      Err(path, "must be a trigger {path, key, ...}");
      return t;
    }
    static const std::set<std::string> kOwn = {"items",        "key",     "cursor",
                                               "cursor_param", "ordered", "item"};
    Keys(j, path,
         {"title", "description", "method", "path", "query", "headers", "body", "input", "paginate",
          "items", "key", "cursor", "cursor_param", "ordered", "item"});
    // The request is read as an action's (templates, input schema, paginate).
    Json request = Json::object();
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!kOwn.count(it.key())) request[it.key()] = it.value();
    t.request = Action(name, request, path, styles, false);
    t.request.response = "json";
    if (t.request.method != "GET" && t.request.method != "POST")
      Err(path + ".method", "must be GET or POST (a trigger only lists)");
    t.items = Expr(j, "items", path);
    t.key = Expr(j, "key", path);
    if (!j.contains("key") || j["key"] == "" || j["key"].is_null())
      Err(path + ".key", "is required: a JSONata over an item giving its identity (id)");
    t.cursor = Expr(j, "cursor", path);
    std::string param = Str(j, "cursor_param", path, false, 128);
    if (!param.empty()) t.cursor_param = param;
    if (j.contains("cursor_param") && !t.cursor)
      Err(path + ".cursor_param", "needs cursor (the JSONata giving the value sent)");
    if (auto o = j.find("ordered"); o != j.end() && !o->is_null()) {
      if (!o->is_boolean())
        Err(path + ".ordered", "must be true or false");
      else
        t.ordered = o->get<bool>();
    }
    if (t.ordered && !t.cursor) Err(path + ".ordered", "needs cursor (ordered by what?)");
    t.item = Str(j, "item", path, false, 1024);
    return t;
  }
};

}  // namespace

size_t FlowNesting(std::string_view text) {
  size_t depth = 0, deepest = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      if (c == '\\' && quote == '"')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"') {
      quote = c;
    } else if (c == '\'' && (i == 0 || std::string_view(" \t\n:,[{-").find(text[i - 1]) !=
                                           std::string_view::npos)) {
      quote = c;  // a single-quoted YAML scalar (not an apostrophe inside a word)
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

namespace {

// Visits a YAML tree as JSON conversion would, aliases expanded, giving up
// past `budget` nodes (an alias "bomb" of a few lines expands to billions).
bool WithinBudget(const YAML::Node& n, size_t& budget, int depth) {
  if (budget == 0 || depth > static_cast<int>(kMaxNesting)) return false;
  --budget;
  if (n.IsSequence()) {
    for (const auto& item : n)
      if (!WithinBudget(item, budget, depth + 1)) return false;
  } else if (n.IsMap()) {
    for (const auto& kv : n)
      if (!WithinBudget(kv.second, budget, depth + 1)) return false;
  }
  return true;
}

}  // namespace

Result<void> CheckDocumentSize(std::string_view text, size_t max_nodes) {
  if (FlowNesting(text) > kMaxNesting)
    return Fail(ErrorCode::kValidation,
                "the document nests [ and { more than " + std::to_string(kMaxNesting) + " deep");
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '['))
    return {};  // JSON: no aliases, and its size is its cost
  try {
    YAML::Node n = YAML::Load(std::string(text));
    size_t budget = max_nodes;
    if (!WithinBudget(n, budget, 0))
      return Fail(ErrorCode::kValidation, "the document expands to more than " +
                                              std::to_string(max_nodes) +
                                              " values (YAML aliases?) or nests too deep");
  } catch (const std::exception&) {
    // ParseDocumentText reports it.
  }
  return {};
}

Result<std::shared_ptr<const Manifest>> ParseManifest(std::string_view text, std::string source) {
  if (text.size() > kMaxManifestBytes)
    return Fail(ErrorCode::kValidation,
                "the manifest is larger than " + std::to_string(kMaxManifestBytes >> 20) + " MiB");
  if (auto sized = CheckDocumentSize(text, 2'000'000); !sized)
    return Fail(ErrorCode::kValidation, "the manifest is refused: " + sized.error().message);
  auto parsed = ParseDocumentText(text);
  if (!parsed) return Fail(ErrorCode::kValidation, parsed.error().message);
  const Json& doc = *parsed;
  if (!doc.is_object()) return Fail(ErrorCode::kValidation, "a manifest must be a map");
  auto m = std::make_shared<Manifest>();
  m->source = std::move(source);
  m->text = std::string(text);
  Reader r;
  r.Keys(doc, "",
         {"name", "title", "description", "icon", "docs_url", "version", "connection", "errors",
          "rate_limit", "pagination", "actions", "triggers"});
  m->name = r.Str(doc, "name", "", true, 64);
  if (!m->name.empty() && !IsName(m->name)) r.Err("name", "must match [a-z][a-z0-9_]*");
  m->title = r.Str(doc, "title", "", false, 200);
  if (m->title.empty()) m->title = m->name;
  m->description = r.Str(doc, "description", "", false, 16384);
  m->version = r.Str(doc, "version", "", false, 64);
  m->docs_url = r.Str(doc, "docs_url", "", false, 2048);
  if (!m->docs_url.empty() && !m->docs_url.starts_with("https://") &&
      !m->docs_url.starts_with("http://"))
    r.Err("docs_url", "must be an http(s) URL");
  m->icon_svg = r.Str(doc, "icon", "", false, kMaxIconBytes);
  if (!m->icon_svg.empty() && m->icon_svg.find("<svg") == std::string::npos)
    r.Err("icon", "must be an SVG document (<svg ...>...</svg>)");

  // The connection.
  const Json conn = doc.value("connection", Json::object());
  if (!conn.is_object()) {
    r.Err("connection", "must be a map");
  } else {
    r.Keys(conn, "connection", {"fields", "base_url", "headers", "auth", "test"});
    if (auto f = conn.find("fields"); f != conn.end() && !f->is_null()) {
      if (!f->is_array()) {
        r.Err("connection.fields", "must be a list of fields");
      } else {
        std::set<std::string> seen;
        for (size_t i = 0; i < f->size(); ++i) {
          std::string at = "connection.fields[" + std::to_string(i) + "]";
          FieldSpec fs = r.Field((*f)[i], at);
          if (!fs.name.empty() && !seen.insert(fs.name).second)
            r.Err(at + ".name", "duplicate field \"" + fs.name + "\"");
          m->fields.push_back(std::move(fs));
        }
      }
    }
    if (!conn.contains("base_url")) r.Err("connection.base_url", "is required");
    m->base_url = JsonTemplate::Compile(conn.value("base_url", Json(nullptr)),
                                        "connection.base_url", r.errors);
    if (conn.contains("base_url") && !conn["base_url"].is_string())
      r.Err("connection.base_url", "must be a string (a template over connection fields)");
    m->headers =
        JsonTemplate::Compile(conn.value("headers", Json(nullptr)), "connection.headers", r.errors);
    if (conn.contains("headers") && !conn["headers"].is_object())
      r.Err("connection.headers", "must be a map of header to value");
    const Json auth = conn.value("auth", Json::object());
    if (!auth.is_object()) {
      r.Err("connection.auth", "must be a map {type, ...}");
    } else {
      r.Keys(auth, "connection.auth",
             {"type", "in", "name", "grant", "authorize_url", "token_url", "scope", "client_auth"});
      ManifestAuth& a = m->auth;
      a.type = r.Str(auth, "type", "connection.auth", false);
      if (a.type.empty()) a.type = "none";
      if (a.type == "api_key") {
        a.in = r.Str(auth, "in", "connection.auth", false);
        if (a.in.empty()) a.in = "header";
        if (a.in != "header" && a.in != "query" && a.in != "body")
          r.Err("connection.auth.in", "must be header, query or body");
        a.name = r.Str(auth, "name", "connection.auth", true, 128);
      } else if (a.type == "oauth2") {
        a.grant = r.Str(auth, "grant", "connection.auth", false);
        if (a.grant.empty()) a.grant = "authorization_code";
        if (a.grant != "authorization_code" && a.grant != "client_credentials")
          r.Err("connection.auth.grant", "must be authorization_code or client_credentials");
        a.authorize_url =
            r.Str(auth, "authorize_url", "connection.auth", a.grant == "authorization_code", 2048);
        a.token_url = r.Str(auth, "token_url", "connection.auth", true, 2048);
        a.scope = r.Str(auth, "scope", "connection.auth", false, 4096);
        std::string ca = r.Str(auth, "client_auth", "connection.auth", false);
        if (!ca.empty()) a.client_auth = ca;
        if (a.client_auth != "basic" && a.client_auth != "body")
          r.Err("connection.auth.client_auth", "must be basic or body");
      } else if (a.type != "none" && a.type != "basic" && a.type != "bearer") {
        r.Err("connection.auth.type", "must be none, api_key, basic, bearer or oauth2");
      }
    }
    if (auto t = conn.find("test"); t != conn.end() && !t->is_null())
      m->test = r.Action("test", *t, "connection.test", {}, true);
  }

  // Errors.
  if (auto e = doc.find("errors"); e != doc.end() && !e->is_null()) {
    if (!e->is_object()) {
      r.Err("errors", "must be a map {retryable, message, when}");
    } else {
      r.Keys(*e, "errors", {"retryable", "message", "when"});
      if (auto rt = e->find("retryable"); rt != e->end()) {
        if (!rt->is_array()) {
          r.Err("errors.retryable", "must be a list of statuses");
        } else {
          m->retryable.clear();
          for (size_t i = 0; i < rt->size(); ++i) {
            const Json& s = (*rt)[i];
            if (!s.is_number_integer() || s.get<int64_t>() < 100 || s.get<int64_t>() > 599)
              r.Err("errors.retryable[" + std::to_string(i) + "]", "must be a status 100-599");
            else
              m->retryable.push_back(s.get<long>());
          }
        }
      }
      m->error_message = r.Expr(*e, "message", "errors");
      m->error_when = r.Expr(*e, "when", "errors");
    }
  }

  // Rate limit: {requests, per, burst}, read by the one grammar connections use too.
  if (auto rl = doc.find("rate_limit"); rl != doc.end() && !rl->is_null()) {
    std::vector<FieldError> problems;
    if (ParseRateLimit(*rl, "rate_limit", problems)) m->rate_limit = *rl;
    for (auto& p : problems) r.Err(p.path, p.message);
  }

  // Pagination styles.
  std::map<std::string, Pagination> styles;
  if (auto p = doc.find("pagination"); p != doc.end() && !p->is_null()) {
    if (!p->is_object()) {
      r.Err("pagination", "must be a map of style name to style");
    } else {
      for (auto it = p->begin(); it != p->end(); ++it)
        styles[it.key()] = r.Paginate(it.value(), "pagination." + it.key());
    }
  }

  // Actions.
  const Json actions = doc.value("actions", Json(nullptr));
  if (!actions.is_object() || actions.empty()) {
    r.Err("actions", "must be a map of action name to action, with at least one");
  } else if (actions.size() > kMaxManifestActions) {
    r.Err("actions", "has more than " + std::to_string(kMaxManifestActions) + " actions");
  } else {
    for (auto it = actions.begin(); it != actions.end(); ++it) {
      std::string at = "actions." + it.key();
      if (!IsName(it.key())) r.Err(at, "an action name must match [a-z][a-z0-9_]*");
      m->actions.push_back(r.Action(it.key(), it.value(), at, styles, false));
    }
  }

  // Polling triggers.
  if (auto t = doc.find("triggers"); t != doc.end() && !t->is_null()) {
    if (!t->is_object()) {
      r.Err("triggers", "must be a map of trigger name to trigger");
    } else if (t->size() > kMaxManifestActions) {
      r.Err("triggers", "has more than " + std::to_string(kMaxManifestActions) + " triggers");
    } else {
      for (auto it = t->begin(); it != t->end(); ++it) {
        std::string at = "triggers." + it.key();
        if (!IsName(it.key())) r.Err(at, "a trigger name must match [a-z][a-z0-9_]*");
        m->triggers.push_back(r.Trigger(it.key(), it.value(), at, styles));
      }
    }
  }

  if (!r.errors.empty()) {
    const FieldError& first = r.errors.front();
    std::string msg = "the manifest" + (m->name.empty() ? std::string() : " \"" + m->name + "\"") +
                      " is invalid: " + first.path + ": " + first.message;
    if (r.errors.size() > 1) msg += " (and " + std::to_string(r.errors.size() - 1) + " more)";
    return Fail(ErrorCode::kValidation, msg, std::move(r.errors));
  }
  return std::shared_ptr<const Manifest>(std::move(m));
}

// ---- the catalog entry ------------------------------------------------------------

namespace {

std::string FieldTypeOf(const Json& schema) {
  if (schema.contains("enum") && schema.value("type", "string") == "string") return "enum";
  std::string t = schema.value("type", "any");
  if (t == "file") return "any";
  return t;
}

FieldSpec SecretFieldSpec(std::string name, std::string title, bool required, std::string help) {
  FieldSpec f;
  f.name = std::move(name);
  f.title = std::move(title);
  f.required = required;
  f.secret = true;
  f.help = std::move(help);
  return f;
}

FieldSpec PlainField(std::string name, std::string title, bool required, Json def,
                     std::string help = "") {
  FieldSpec f;
  f.name = std::move(name);
  f.title = std::move(title);
  f.required = required;
  f.default_value = std::move(def);
  f.help = std::move(help);
  return f;
}

// An input schema's properties as the step form's fields (the schema kept:
// save-time validation checks each value against it, with paths).
std::vector<FieldSpec> InputFields(const Json& input) {
  std::vector<FieldSpec> out;
  std::set<std::string> required;
  if (input.contains("required"))
    for (const auto& n : input["required"]) required.insert(n.get<std::string>());
  if (!input.contains("properties")) return out;
  for (auto it = input["properties"].begin(); it != input["properties"].end(); ++it) {
    const Json& p = it.value();
    FieldSpec f;
    f.name = it.key();
    f.title = p.value("title", it.key());
    f.type = FieldTypeOf(p);
    f.required = required.count(it.key()) > 0;
    if (p.contains("enum"))
      for (const auto& e : p["enum"])
        f.enum_values.push_back(e.is_string() ? e.get<std::string>() : e.dump());
    if (p.contains("default")) f.default_value = p["default"];
    f.help = p.value("description", "");
    if (p.value("type", "") == "file")
      f.help = (f.help.empty() ? "" : f.help + " ") + "A file value (docs/files.md).";
    f.schema = p;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

PollSpec ToPollSpec(const ManifestTrigger& t) {
  PollSpec p;
  p.name = t.name;
  p.title = t.request.title;
  p.description = t.request.description;
  p.inputs = InputFields(t.request.input);
  p.item = t.item.empty() ? "the item as the API lists it" : t.item;
  return p;
}

ConnectorSpec ToConnectorSpec(const Manifest& m) {
  ConnectorSpec s;
  s.name = m.name;
  s.title = m.title;
  s.description = m.description;
  s.icon = m.icon_svg.empty() ? "puzzle" : "data:image/svg+xml;base64," + Base64Encode(m.icon_svg);
  s.needs_connection = true;
  s.source = m.source;
  s.version = m.version;
  s.docs_url = m.docs_url;
  s.fields = m.fields;
  s.rate_limit = m.rate_limit;
  const ManifestAuth& a = m.auth;
  if (a.type == "none") {
    s.auth_types.push_back({"none", "No authentication", {}});
  } else if (a.type == "bearer") {
    s.auth_types.push_back(
        {"bearer",
         "Bearer token",
         {SecretFieldSpec("token", "Token", true, "Sent as Authorization: Bearer <token>.")}});
  } else if (a.type == "basic") {
    s.auth_types.push_back({"basic",
                            "Basic",
                            {PlainField("username", "Username", true, nullptr),
                             SecretFieldSpec("password", "Password", true, "")}});
  } else if (a.type == "api_key") {
    s.auth_types.push_back(
        {"api_key",
         "API key",
         {SecretFieldSpec("value", "API key", true,
                          "Sent as " + a.name + " in the " + a.in + " of every request.")}});
  } else if (a.type == "oauth2" && a.grant == "client_credentials") {
    s.auth_types.push_back(
        {"oauth2_client_credentials",
         "OAuth2 client credentials",
         {PlainField("client_id", "Client ID", true, nullptr),
          SecretFieldSpec("client_secret", "Client secret", true, ""),
          PlainField("scope", "Scope", false, a.scope.empty() ? Json() : Json(a.scope)),
          PlainField("token_url", "Token URL", false, a.token_url)}});
  } else if (a.type == "oauth2") {
    s.auth_types.push_back(
        {"oauth2_code",
         "OAuth2 (sign in with " + m.title + ")",
         {PlainField("client_id", "Client ID", true, nullptr),
          SecretFieldSpec("client_secret", "Client secret", false,
                          "Of your app at " + m.title + "; empty for a public client (PKCE only)."),
          PlainField("scope", "Scope", false, a.scope.empty() ? Json() : Json(a.scope)),
          PlainField("authorize_url", "Authorization URL", false, a.authorize_url),
          PlainField("token_url", "Token URL", false, a.token_url),
          SecretFieldSpec("refresh_token", "Refresh token", false, "Filled in by Authorize."),
          SecretFieldSpec("access_token", "Access token", false, "Filled in by Authorize."),
          PlainField("expires_at", "Access token expires at", false, nullptr,
                     "Filled in by Authorize.")}});
  }
  for (const auto& act : m.actions) {
    ActionSpec as;
    as.name = act.name;
    as.title = act.title;
    as.description = act.description;
    as.output = act.output ? "the answer's body through " + act.output->Source()
                           : (act.paginate ? "every page's items, as one list"
                                           : "the answer's body (JSON parsed)");
    as.inputs = InputFields(act.input);
    s.actions.push_back(std::move(as));
  }
  return s;
}

}  // namespace weft::connectors::manifest
