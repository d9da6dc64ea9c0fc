#include "connectors/manifest/openapi_import.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "connectors/manifest/manifest.h"
#include "core/input_schema.h"

namespace weft::connectors::manifest {

std::string SnakeCase(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (std::isupper(c)) {
      bool prev_lower = i > 0 && (std::islower(static_cast<unsigned char>(s[i - 1])) ||
                                  std::isdigit(static_cast<unsigned char>(s[i - 1])));
      bool next_lower = i + 1 < s.size() && std::islower(static_cast<unsigned char>(s[i + 1]));
      bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(s[i - 1]));
      if (!out.empty() && out.back() != '_' && (prev_lower || (prev_upper && next_lower)))
        out += '_';
      out += static_cast<char>(std::tolower(c));
    } else if (std::isalnum(c)) {
      out += static_cast<char>(c);
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.empty() || !std::islower(static_cast<unsigned char>(out[0]))) out = "x_" + out;
  if (out.size() > 64) out.resize(64);
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

namespace {

constexpr int kMaxDepth = 6;             // nesting kept in an input schema
constexpr size_t kMaxDescription = 600;  // characters of a description kept
constexpr size_t kSchemaBudget = 400;    // schema nodes expanded per action

const std::set<std::string> kHttpMethods = {"get", "put", "post", "delete", "patch", "head"};

std::string Trim(std::string s, size_t max = kMaxDescription) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  s = s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
  if (s.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

std::string FirstLine(const std::string& s) {
  std::string t = Trim(s, 100000);
  size_t nl = t.find('\n');
  return Trim(nl == std::string::npos ? t : t.substr(0, nl), 200);
}

class Importer {
 public:
  Importer(const Json& spec, const ImportOptions& options) : spec_(spec), options_(options) {}

  Result<ImportResult> Run() {
    bool swagger = spec_.contains("swagger");
    std::string version = GetString(spec_, swagger ? "swagger" : "openapi");
    if (!spec_.is_object() || version.empty())
      return Fail(ErrorCode::kValidation,
                  "not an OpenAPI document: it has neither openapi: 3.x nor swagger: \"2.0\"");
    if (swagger ? version != "2.0" : !(version.starts_with("3.0") || version.starts_with("3.1")))
      return Fail(ErrorCode::kValidation,
                  "OpenAPI " + version + " is not supported (3.0, 3.1 and Swagger 2.0 are)");
    swagger_ = swagger;
    const Json info = spec_.value("info", Json::object());
    std::string title = GetString(info, "title", "API");
    Json m = Json::object();
    m["name"] = options_.name.empty() ? SnakeCase(title) : options_.name;
    m["title"] = Trim(title, 200);
    if (!GetString(info, "description").empty())
      m["description"] = FirstLine(GetString(info, "description"));
    if (!GetString(info, "version").empty()) m["version"] = GetString(info, "version");
    if (spec_.contains("externalDocs") && spec_["externalDocs"].is_object() &&
        GetString(spec_["externalDocs"], "url").starts_with("http"))
      m["docs_url"] = GetString(spec_["externalDocs"], "url");

    Json conn = Json::object();
    conn["fields"] =
        Json::array({Json{{"name", "base_url"},
                          {"title", "Base URL"},
                          {"type", "string"},
                          {"default", BaseUrl()},
                          {"help", "Where the API is (a test server's URL for tests)."}}});
    conn["base_url"] = "{{ connection.base_url }}";
    conn["auth"] = Auth();
    m["connection"] = std::move(conn);

    Json actions = Json::object();
    const Json paths = spec_.value("paths", Json::object());
    if (!paths.is_object())
      return Fail(ErrorCode::kValidation, "paths must be a map of path to operations");
    for (auto pit = paths.begin(); pit != paths.end(); ++pit) {
      const Json& item = Resolve(pit.value());
      if (!item.is_object()) continue;
      for (auto oit = item.begin(); oit != item.end(); ++oit) {
        if (!kHttpMethods.count(oit.key()) || !oit.value().is_object()) continue;
        ++result_.operations_seen;
        const Json& op = oit.value();
        bool wanted = Wanted(op, oit.key(), pit.key());
        std::string name = ActionName(op, oit.key(), pit.key());
        ListOperation(op, oit.key(), pit.key(), name, wanted);
        if (!wanted) continue;
        std::string unique = name;
        for (int n = 2; actions.contains(unique); ++n) {
          unique = name.substr(0, 56);
          while (unique.back() == '_') unique.pop_back();
          unique += "_" + std::to_string(n);
        }
        if (actions.size() >= kMaxManifestActions) {
          result_.notes.push_back("stopped at " + std::to_string(kMaxManifestActions) +
                                  " actions (use --tag or --operation)");
          break;
        }
        actions[unique] = Action(pit.key(), oit.key(), item, op);
      }
    }
    if (actions.empty())
      return Fail(ErrorCode::kValidation,
                  result_.operations_seen == 0
                      ? "the document has no operations"
                      : "no operation matches the --tag / --operation filters (of " +
                            std::to_string(result_.operations_seen) + ")");
    m["actions"] = std::move(actions);
    result_.manifest = std::move(m);
    return std::move(result_);
  }

 private:
  // ---- references and schemas ----

  // Follows a local $ref ("#/components/schemas/X"); the value itself otherwise.
  const Json& Resolve(const Json& v, int hops = 0) const {
    static const Json kNull;
    if (!v.is_object() || !v.contains("$ref") || hops > 16) return v;
    const Json& ref = v["$ref"];
    if (!ref.is_string() || !ref.get<std::string>().starts_with("#/")) return kNull;
    const Json* at = &spec_;
    std::string path = ref.get<std::string>().substr(2);
    size_t pos = 0;
    while (pos <= path.size()) {
      size_t slash = path.find('/', pos);
      std::string part =
          path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
      // JSON pointer escapes.
      for (size_t i; (i = part.find("~1")) != std::string::npos;) part.replace(i, 2, "/");
      for (size_t i; (i = part.find("~0")) != std::string::npos;) part.replace(i, 2, "~");
      if (!at->is_object() || !at->contains(part)) return kNull;
      at = &(*at)[part];
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    return Resolve(*at, hops + 1);
  }

  // A schema of the spec in the manifest's JSON-Schema subset. `stack` holds
  // the $refs being expanded: a cycle ends as a plain object.
  Json Schema(const Json& in, int depth, std::vector<std::string>& stack,
              int max_depth = kMaxDepth) const {
    if (!in.is_object()) return Json::object();
    // Wide documents (Box) fan out at every level: past the budget a schema
    // keeps its type only.
    if (budget_ == 0)
      max_depth = depth;
    else
      --budget_;
    std::string ref =
        in.contains("$ref") && in["$ref"].is_string() ? in["$ref"].get<std::string>() : "";
    if (!ref.empty()) {
      if (std::find(stack.begin(), stack.end(), ref) != stack.end())
        return Json{{"type", "object"}};
      stack.push_back(ref);
      Json out = Schema(Resolve(in), depth, stack, max_depth);
      stack.pop_back();
      if (in.contains("description") && in["description"].is_string())
        out["description"] = Trim(in["description"].get<std::string>());
      return out;
    }
    Json out = Json::object();
    // allOf: the parts merged; oneOf/anyOf: any value (the spec allows several shapes).
    if (in.contains("allOf") && in["allOf"].is_array()) {
      for (const auto& part : in["allOf"]) {
        Json p = Schema(part, depth, stack, max_depth);
        for (auto it = p.begin(); it != p.end(); ++it) {
          if (it.key() == "properties" && out.contains("properties")) {
            for (auto pp = it.value().begin(); pp != it.value().end(); ++pp)
              out["properties"][pp.key()] = pp.value();
          } else if (it.key() == "required" && out.contains("required")) {
            for (const auto& r : it.value()) out["required"].push_back(r);
          } else {
            out[it.key()] = it.value();
          }
        }
      }
    }
    std::string type;
    if (in.contains("type")) {
      const Json& t = in["type"];
      if (t.is_string()) {
        type = t.get<std::string>();
      } else if (t.is_array()) {  // 3.1: ["string", "null"]
        for (const auto& e : t)
          if (e.is_string() && e != "null") {
            type = e.get<std::string>();
            break;
          }
      }
    }
    if (in.contains("oneOf") || in.contains("anyOf")) type.clear();
    if (type == "file" || (type == "string" && GetString(in, "format") == "binary")) type = "file";
    static const std::set<std::string> kOk = {"string", "integer", "number", "boolean",
                                              "object", "array",   "file"};
    if (kOk.count(type)) out["type"] = type;
    if (type.empty() && in.contains("properties")) out["type"] = "object";
    if (in.contains("title") && in["title"].is_string()) out["title"] = Trim(in["title"], 200);
    if (in.contains("description") && in["description"].is_string())
      out["description"] = Trim(in["description"].get<std::string>());
    if (in.contains("enum") && in["enum"].is_array() && type != "object" && type != "array") {
      Json e = Json::array();
      for (const auto& v : in["enum"])
        if (v.is_primitive() && !v.is_null()) e.push_back(v);
      if (!e.empty()) out["enum"] = e;
    }
    std::string t = out.value("type", "");
    if (t == "object" && in.contains("properties") && in["properties"].is_object() &&
        depth < max_depth) {
      Json props = out.value("properties", Json::object());
      for (auto it = in["properties"].begin(); it != in["properties"].end(); ++it) {
        const Json& ps = Resolve(it.value());
        if (ps.is_object() && ps.value("readOnly", false)) continue;
        props[it.key()] = Schema(it.value(), depth + 1, stack, max_depth);
      }
      out["properties"] = std::move(props);
      if (in.contains("required") && in["required"].is_array()) {
        Json req = out.value("required", Json::array());
        for (const auto& r : in["required"])
          if (r.is_string() && out["properties"].contains(r.get<std::string>())) req.push_back(r);
        if (!req.empty()) out["required"] = std::move(req);
      }
    }
    if (t != "object") {
      out.erase("properties");
      out.erase("required");
    } else if (out.contains("required")) {
      // Keep only names that are properties, once each.
      Json req = Json::array();
      std::set<std::string> seen;
      for (const auto& r : out["required"])
        if (r.is_string() &&
            out.value("properties", Json::object()).contains(r.get<std::string>()) &&
            seen.insert(r.get<std::string>()).second)
          req.push_back(r);
      if (req.empty())
        out.erase("required");
      else
        out["required"] = std::move(req);
    }
    if (t == "array" && in.contains("items") && depth < max_depth)
      out["items"] = Schema(in["items"], depth + 1, stack, max_depth);
    if (in.contains("default") && !in["default"].is_null()) {
      std::vector<FieldError> bad;
      CheckValue(out, in["default"], "default", bad, true);
      if (bad.empty()) out["default"] = in["default"];
    }
    return out;
  }

  // ---- the connection ----

  std::string BaseUrl() const {
    if (swagger_) {
      std::string scheme = "https";
      if (spec_.contains("schemes") && spec_["schemes"].is_array() && !spec_["schemes"].empty() &&
          spec_["schemes"][0].is_string()) {
        scheme = spec_["schemes"][0].get<std::string>();
        for (const auto& s : spec_["schemes"])
          if (s == "https") scheme = "https";
      }
      std::string host = GetString(spec_, "host", "api.example.com");
      return scheme + "://" + host + GetString(spec_, "basePath");
    }
    const Json servers = spec_.value("servers", Json::array());
    if (!servers.is_array() || servers.empty() || !servers[0].is_object())
      return "https://api.example.com";
    std::string url = GetString(servers[0], "url");
    // Server variables at their defaults.
    if (servers[0].contains("variables") && servers[0]["variables"].is_object())
      for (auto it = servers[0]["variables"].begin(); it != servers[0]["variables"].end(); ++it) {
        std::string key = "{" + it.key() + "}";
        std::string def = it.value().is_object() ? GetString(it.value(), "default") : "";
        for (size_t p = 0; (p = url.find(key, p)) != std::string::npos; p += def.size())
          url.replace(p, key.size(), def);
      }
    while (url.size() > 1 && url.back() == '/') url.pop_back();
    if (!url.starts_with("http")) url = "https://api.example.com" + url;
    return url;
  }

  Json Auth() {
    const Json schemes =
        swagger_
            ? spec_.value("securityDefinitions", Json::object())
            : spec_.value("components", Json::object()).value("securitySchemes", Json::object());
    if (!schemes.is_object() || schemes.empty()) {
      result_.notes.push_back("no security scheme: auth none (add one if the API needs it)");
      return Json{{"type", "none"}};
    }
    // The scheme the document asks for first, else its first.
    std::string chosen;
    if (spec_.contains("security") && spec_["security"].is_array())
      for (const auto& req : spec_["security"])
        if (req.is_object())
          for (auto it = req.begin(); it != req.end() && chosen.empty(); ++it)
            if (schemes.contains(it.key())) chosen = it.key();
    // Prefer a scheme we speak fully over one we do not.
    auto usable = [&](const Json& s) {
      std::string t = GetString(s, "type");
      return t != "apiKey" || GetString(s, "in") != "cookie";
    };
    if (chosen.empty() || !usable(Resolve(schemes[chosen])))
      for (auto it = schemes.begin(); it != schemes.end(); ++it)
        if (usable(Resolve(it.value()))) {
          chosen = it.key();
          break;
        }
    if (chosen.empty()) return Json{{"type", "none"}};
    const Json& s = Resolve(schemes[chosen]);
    std::string type = GetString(s, "type");
    std::string scheme = GetString(s, "scheme");
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
    if (type == "http" && scheme == "basic") return Json{{"type", "basic"}};
    if (type == "basic") return Json{{"type", "basic"}};
    if (type == "http" || type == "openIdConnect") return Json{{"type", "bearer"}};
    if (type == "apiKey") {
      auth_key_ = GetString(s, "name");
      return Json{{"type", "api_key"}, {"in", GetString(s, "in", "header")}, {"name", auth_key_}};
    }
    if (type == "oauth2") {
      Json flows = s.value("flows", Json::object());
      std::string authorize, token, grant;
      if (swagger_) {
        std::string flow = GetString(s, "flow");
        authorize = GetString(s, "authorizationUrl");
        token = GetString(s, "tokenUrl");
        grant = flow == "application" ? "client_credentials" : "authorization_code";
      } else if (flows.contains("authorizationCode")) {
        authorize = GetString(flows["authorizationCode"], "authorizationUrl");
        token = GetString(flows["authorizationCode"], "tokenUrl");
        grant = "authorization_code";
      } else if (flows.contains("clientCredentials")) {
        token = GetString(flows["clientCredentials"], "tokenUrl");
        grant = "client_credentials";
      }
      if (token.empty() || (grant == "authorization_code" && authorize.empty())) {
        result_.notes.push_back("OAuth2 scheme " + chosen + " without usable URLs: bearer token");
        return Json{{"type", "bearer"}};
      }
      Json a = {{"type", "oauth2"}, {"grant", grant}, {"token_url", token}};
      if (!authorize.empty()) a["authorize_url"] = authorize;
      return a;
    }
    return Json{{"type", "none"}};
  }

  // ---- operations ----

  bool Wanted(const Json& op, const std::string& method, const std::string& path) const {
    if (!options_.tags.empty()) {
      bool any = false;
      if (op.contains("tags") && op["tags"].is_array())
        for (const auto& t : op["tags"])
          if (t.is_string() && std::find(options_.tags.begin(), options_.tags.end(),
                                         t.get<std::string>()) != options_.tags.end())
            any = true;
      if (!any) return false;
    }
    if (!options_.operations.empty()) {
      std::string id = GetString(op, "operationId");
      std::string name = ActionName(op, method, path);
      bool any = false;
      for (const auto& o : options_.operations)
        if (o == id || o == name) any = true;
      if (!any) return false;
    }
    return true;
  }

  void ListOperation(const Json& op, const std::string& method, const std::string& path,
                     const std::string& name, bool wanted) {
    std::string id = GetString(op, "operationId");
    std::string m = method;
    std::transform(m.begin(), m.end(), m.begin(), ::toupper);
    Json tags = Json::array();
    if (op.contains("tags") && op["tags"].is_array())
      for (const auto& t : op["tags"])
        if (t.is_string()) tags.push_back(t);
    result_.operation_list.push_back(Json{{"operation", id.empty() ? name : id},
                                          {"action", name},
                                          {"method", m},
                                          {"path", path},
                                          {"tags", std::move(tags)},
                                          {"title", FirstLine(GetString(op, "summary"))},
                                          {"selected", wanted}});
  }

  static std::string ActionName(const Json& op, const std::string& method,
                                const std::string& path) {
    std::string id = GetString(op, "operationId");
    if (!id.empty()) return SnakeCase(id);
    return SnakeCase(method + "_" + path);
  }

  // An input name for a parameter, unique within the action.
  static std::string InputName(const std::string& raw, const Json& props) {
    std::string n = SnakeCase(raw);
    std::string u = n;
    for (int i = 2; props.contains(u); ++i) u = n + "_" + std::to_string(i);
    return u;
  }

  Json Action(const std::string& path, const std::string& method, const Json& item,
              const Json& op) {
    budget_ = kSchemaBudget;
    Json a = Json::object();
    std::string summary = GetString(op, "summary");
    std::string description = GetString(op, "description");
    if (!summary.empty()) a["title"] = FirstLine(summary);
    std::string desc = !summary.empty() ? summary : description;
    if (!desc.empty()) a["description"] = Trim(desc);
    std::string m = method;
    std::transform(m.begin(), m.end(), m.begin(), ::toupper);
    a["method"] = m;
    Json props = Json::object();
    Json required = Json::array();
    Json query = Json::object(), headers = Json::object(), body = Json::object(),
         form = Json::object();
    std::vector<std::string> stack;
    std::string out_path = path;
    std::string body_type;

    // Path-level parameters, then the operation's (which win by name and place).
    std::map<std::pair<std::string, std::string>, Json> params;
    for (const Json* list : {&item, &op})
      if (list->contains("parameters") && (*list)["parameters"].is_array())
        for (const auto& p0 : (*list)["parameters"]) {
          const Json& p = Resolve(p0);
          if (p.is_object()) params[{GetString(p, "in"), GetString(p, "name")}] = p;
        }
    Json body_schema;  // Swagger 2.0 in: body
    for (const auto& [key, p] : params) {
      const auto& [where, raw] = key;
      if (raw.empty()) continue;
      std::string lower = raw;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (where == "cookie" ||
          (where == "header" &&
           (lower == "authorization" || lower == "content-type" || lower == "accept")))
        continue;
      if (!auth_key_.empty() && raw == auth_key_) continue;  // the connection sends it
      if (where == "body") {
        body_schema = p.value("schema", Json::object());
        continue;
      }
      std::string name = InputName(raw, props);
      Json schema = p.contains("schema") ? Schema(p["schema"], 0, stack) : Schema(p, 0, stack);
      schema.erase("title");
      if (p.contains("description") && p["description"].is_string())
        schema["description"] = Trim(p["description"].get<std::string>());
      else
        schema.erase("description");
      props[name] = schema;
      bool req = where == "path" || p.value("required", false);
      if (req) required.push_back(name);
      std::string ref = "{{ input." + name + " }}";
      if (where == "path") {
        std::string token = "{" + raw + "}", with = "{" + name + "}";
        for (size_t at = 0; (at = out_path.find(token, at)) != std::string::npos; at += with.size())
          out_path.replace(at, token.size(), with);
      } else if (where == "query") {
        query[raw] = ref;
      } else if (where == "header") {
        headers[raw] = ref;
      } else if (where == "formData") {
        form[raw] = ref;
        if (schema.value("type", "") == "file") body_type = "multipart";
      }
    }
    if (!form.empty()) {
      body = form;
      if (body_type.empty()) {
        body_type = "form";
        if (op.contains("consumes") && op["consumes"].is_array())
          for (const auto& c : op["consumes"])
            if (c == "multipart/form-data" &&
                std::none_of(op["consumes"].begin(), op["consumes"].end(), [](const Json& x) {
                  return x == "application/x-www-form-urlencoded";
                }))
              body_type = "multipart";
      }
    }
    // The request body (3.x), or Swagger's in: body.
    bool body_required = false;
    if (!swagger_ && op.contains("requestBody")) {
      const Json& rb = Resolve(op["requestBody"]);
      body_required = rb.value("required", false);
      const Json content = rb.value("content", Json::object());
      for (const char* type : {"application/json", "application/x-www-form-urlencoded",
                               "multipart/form-data", "application/octet-stream"}) {
        auto it = content.find(type);
        if (it == content.end()) continue;
        body_schema = it->value("schema", Json::object());
        body_type = std::string(type) == "application/json"                    ? "json"
                    : std::string(type) == "application/x-www-form-urlencoded" ? "form"
                    : std::string(type) == "multipart/form-data"               ? "multipart"
                                                                               : "file";
        if (body_type == "file") body_schema = Json{{"type", "file"}};
        break;
      }
      if (body_type.empty() && content.is_object() && !content.empty()) {
        // Another JSON-like media type (application/vnd.x+json).
        for (auto it = content.begin(); it != content.end(); ++it)
          if (it.key().find("json") != std::string::npos) {
            body_schema = it.value().value("schema", Json::object());
            body_type = "json";
            headers["Content-Type"] = it.key();
            break;
          }
        if (body_type.empty())
          result_.notes.push_back(m + " " + path + ": request body media type not supported (" +
                                  content.begin().key() + ")");
      }
    } else if (swagger_ && !body_schema.is_null()) {
      body_type = "json";
      for (const auto& [key, p] : params)
        if (key.first == "body") body_required = p.value("required", false);
    }
    if (!body_schema.is_null() && (body_type == "json" || body_type == "form" ||
                                   body_type == "multipart" || body_type == "file")) {
      Json s = Schema(body_schema, 0, stack);
      if (s.value("type", "") == "object" && s.contains("properties") && !s["properties"].empty()) {
        // Each property of the body is an input of its own.
        std::set<std::string> req;
        if (s.contains("required"))
          for (const auto& r : s["required"]) req.insert(r.get<std::string>());
        for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
          std::string name = InputName(it.key(), props);
          props[name] = it.value();
          if (req.count(it.key())) required.push_back(name);
          body[it.key()] = "{{ input." + name + " }}";
        }
      } else {
        std::string name = InputName("body", props);
        props[name] = s;
        if (body_required) required.push_back(name);
        a["body"] = "{{ input." + name + " }}";
      }
    }
    a["path"] = out_path;
    if (!query.empty()) a["query"] = query;
    if (!headers.empty()) a["headers"] = headers;
    if (!body.empty()) a["body"] = body;
    if (!body_type.empty() && body_type != "json" && (a.contains("body")))
      a["body_type"] = body_type;
    Json input = {{"type", "object"}};
    if (!required.empty()) input["required"] = required;
    input["properties"] = props;
    a["input"] = std::move(input);
    if (method == "get") {
      Json pg = Paginate(op, params);
      if (!pg.is_null()) a["paginate"] = pg;
    }
    // Binary answers go to a file.
    if (ProducesOnlyBinary(op)) a["response"] = "file";
    return a;
  }

  bool ProducesOnlyBinary(const Json& op) const {
    const Json responses = op.value("responses", Json::object());
    for (auto it = responses.begin(); it != responses.end(); ++it) {
      if (!it.key().starts_with("2")) continue;
      const Json& r = Resolve(it.value());
      if (swagger_) {
        const Json& s = r.is_object() ? r.value("schema", Json()) : Json();
        return s.is_object() && GetString(s, "type") == "file";
      }
      const Json content = r.is_object() ? r.value("content", Json::object()) : Json::object();
      if (content.empty()) return false;
      for (auto c = content.begin(); c != content.end(); ++c)
        if (c.key().find("json") != std::string::npos || c.key().starts_with("text/")) return false;
      return true;
    }
    return false;
  }

  // The 2xx JSON answer's schema, resolved (null when none).
  Json ResponseSchema(const Json& op) const {
    const Json responses = op.value("responses", Json::object());
    for (auto it = responses.begin(); it != responses.end(); ++it) {
      if (!it.key().starts_with("2")) continue;
      const Json& r = Resolve(it.value());
      if (!r.is_object()) continue;
      if (swagger_) return r.value("schema", Json());
      const Json content = r.value("content", Json::object());
      for (auto c = content.begin(); c != content.end(); ++c)
        if (c.key().find("json") != std::string::npos) return c.value().value("schema", Json());
    }
    return Json();
  }

  // Finds the dotted path of a property named one of `names` (depth-first, up to 3 deep).
  std::string FindPath(const Json& schema, const std::set<std::string>& names, int depth,
                       const std::string& prefix, std::vector<std::string>& stack) const {
    if (depth > 3) return "";
    Json s = Schema(schema, 0, stack, 1);
    if (!s.contains("properties")) return "";
    for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it)
      if (names.count(it.key())) return prefix + it.key();
    const Json& raw = Resolve(schema);
    for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
      if (it.value().value("type", "") != "object") continue;
      const Json* sub = nullptr;
      if (raw.contains("properties") && raw["properties"].contains(it.key()))
        sub = &raw["properties"][it.key()];
      if (!sub) continue;
      std::string found = FindPath(*sub, names, depth + 1, prefix + it.key() + ".", stack);
      if (!found.empty()) return found;
    }
    return "";
  }

  // The first array property of the answer (the page's items), or "".
  std::string ItemsPath(const Json& schema, std::vector<std::string>& stack) const {
    Json s = Schema(schema, 0, stack, 1);
    if (!s.contains("properties")) return "";
    for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it)
      if (it.value().value("type", "") == "array") return it.key();
    return "";
  }

  Json Paginate(const Json& op, const std::map<std::pair<std::string, std::string>, Json>& params) {
    Json schema = ResponseSchema(op);
    if (schema.is_null()) return nullptr;
    std::vector<std::string> stack;
    std::set<std::string> query;
    for (const auto& [key, p] : params)
      if (key.first == "query") query.insert(key.second);
    std::string items = ItemsPath(schema, stack);
    auto style = [&](Json s) {
      if (!items.empty()) s["items"] = items;
      s["max_pages"] = 10;
      return s;
    };
    // A cursor sent back in a parameter: Slack (cursor / next_cursor), Box
    // (marker / next_marker), Asana (offset / next_page.offset), page tokens.
    for (const auto& [param, names] : std::vector<std::pair<std::string, std::set<std::string>>>{
             {"cursor", {"next_cursor", "cursor"}},
             {"marker", {"next_marker"}},
             {"page_token", {"next_page_token"}},
             {"pageToken", {"nextPageToken"}},
             {"starting_after", {"last_id"}},
             {"after", {"after", "next_cursor"}}}) {
      if (!query.count(param)) continue;
      std::string path = FindPath(schema, names, 0, "", stack);
      if (!path.empty()) return style({{"type", "cursor"}, {"param", param}, {"cursor", path}});
    }
    if (query.count("offset")) {
      std::string path = FindPath(schema, {"next_page"}, 0, "", stack);
      if (!path.empty())
        return style({{"type", "cursor"}, {"param", "offset"}, {"cursor", path + ".offset"}});
    }
    // A next page's URL in the body: Twilio (next_page_uri, meta.next_page_url).
    std::string next =
        FindPath(schema, {"next_page_uri", "next_page_url", "next_url"}, 0, "", stack);
    if (!next.empty()) {
      if (items.empty()) return nullptr;
      return style({{"type", "next_url"}, {"next", next}});
    }
    return nullptr;
  }

  const Json& spec_;
  const ImportOptions& options_;
  bool swagger_ = false;
  std::string auth_key_;
  ImportResult result_;
  mutable size_t budget_ = kSchemaBudget;
};

}  // namespace

Result<ImportResult> ImportOpenApi(const Json& spec, const ImportOptions& options) {
  if (!spec.is_object())
    return Fail(ErrorCode::kValidation, "not an OpenAPI document: it is not a map");
  if (!options.name.empty()) {
    std::string n = options.name;
    if (SnakeCase(n) != n)
      return Fail(ErrorCode::kValidation, "--name must match [a-z][a-z0-9_]*",
                  {{"name", "must match [a-z][a-z0-9_]*"}});
  }
  Importer importer(spec, options);
  auto r = importer.Run();
  if (!r) return r;
  // The manifest must load as it is: checked here, so an import never prints a broken one.
  auto m = ParseManifest(r->manifest.dump());
  if (!m)
    return Fail(ErrorCode::kInternal,
                "the imported manifest does not load (a bug of the importer): " + m.error().message,
                m.error().details);
  return r;
}

}  // namespace weft::connectors::manifest
