#include "core/input_schema.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/files.h"
#include "expr/expr.h"

namespace weft {
namespace {

const std::set<std::string> kTypes = {"string", "integer", "number", "boolean",
                                      "object", "array",   "file",   "any"};
const std::set<std::string> kKeys = {"type",       "required", "enum",  "default", "description",
                                     "properties", "items",    "title", "format"};

void Check(const Json& s, const std::string& path, int depth, std::vector<FieldError>& errors) {
  if (errors.size() >= kMaxSchemaErrors) return;
  if (!s.is_object()) {
    errors.push_back({path, "must be a schema object {type, properties, ...}"});
    return;
  }
  if (depth > kMaxSchemaDepth) {
    errors.push_back({path, "is nested more than " + std::to_string(kMaxSchemaDepth) + " deep"});
    return;
  }
  for (auto it = s.begin(); it != s.end(); ++it)
    if (!kKeys.count(it.key()) && !it.key().starts_with("x-"))
      errors.push_back({path + "." + it.key(),
                        "is not supported (type, required, enum, default, description, title, "
                        "properties, items, format)"});
  std::string type = "any";
  if (auto t = s.find("type"); t != s.end()) {
    if (!t->is_string() || !kTypes.count(t->get<std::string>()))
      errors.push_back(
          {path + ".type", "must be string, integer, number, boolean, object, array, file or any"});
    else
      type = t->get<std::string>();
  }
  for (const char* k : {"description", "title", "format"})
    if (auto v = s.find(k); v != s.end() && !v->is_string())
      errors.push_back({path + "." + k, "must be a string"});
  if (auto e = s.find("enum"); e != s.end()) {
    if (!e->is_array() || e->empty())
      errors.push_back({path + ".enum", "must be a non-empty list"});
    else
      for (size_t i = 0; i < e->size(); ++i)
        if (!(*e)[i].is_primitive())
          errors.push_back({path + ".enum[" + std::to_string(i) + "]", "must be a plain value"});
  }
  if (auto p = s.find("properties"); p != s.end()) {
    if (type != "object" && type != "any")
      errors.push_back({path + ".properties", "is only for type object"});
    if (!p->is_object()) {
      errors.push_back({path + ".properties", "must be a map of name to schema"});
    } else {
      for (auto it = p->begin(); it != p->end(); ++it)
        Check(it.value(), path + ".properties." + it.key(), depth + 1, errors);
    }
  }
  if (auto r = s.find("required"); r != s.end()) {
    if (!r->is_array()) {
      errors.push_back({path + ".required", "must be a list of property names"});
    } else {
      const Json* props = s.contains("properties") ? &s["properties"] : nullptr;
      for (size_t i = 0; i < r->size(); ++i) {
        const Json& n = (*r)[i];
        std::string at = path + ".required[" + std::to_string(i) + "]";
        if (!n.is_string())
          errors.push_back({at, "must be a property name"});
        else if (!props || !props->is_object() || !props->contains(n.get<std::string>()))
          errors.push_back({at, "\"" + n.get<std::string>() + "\" is not in properties"});
      }
    }
  }
  if (auto i = s.find("items"); i != s.end()) {
    if (type != "array" && type != "any")
      errors.push_back({path + ".items", "is only for type array"});
    Check(*i, path + ".items", depth + 1, errors);
  }
  if (auto d = s.find("default"); d != s.end() && errors.empty()) {
    std::vector<FieldError> bad;
    CheckValue(s, *d, path + ".default", bad, true);
    for (auto& b : bad) errors.push_back({path + ".default", "does not fit: " + b.message});
  }
}

bool HasTemplate(const Json& v) {
  return v.is_string() && expr::Template::HasExpressions(v.get_ref<const std::string&>());
}

std::string Short(const Json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

void Value(const Json& s, const Json& v, const std::string& path, int depth,
           std::vector<FieldError>& errors, bool resolved) {
  if (errors.size() >= kMaxSchemaErrors || !s.is_object() || depth > kMaxSchemaDepth) return;
  if (!resolved && HasTemplate(v)) return;
  std::string type = s.value("type", "any");
  bool ok = true;
  if (type == "string")
    ok = v.is_string();
  else if (type == "integer")
    ok = v.is_number_integer() || (v.is_number_float() && std::isfinite(v.get<double>()) &&
                                   std::floor(v.get<double>()) == v.get<double>());
  else if (type == "number")
    ok = v.is_number();
  else if (type == "boolean")
    ok = v.is_boolean();
  else if (type == "object")
    ok = v.is_object();
  else if (type == "array")
    ok = v.is_array();
  else if (type == "file")
    ok = IsFileValue(v) || (v.is_object() && v.contains("file") && IsFileValue(v["file"]));
  if (!ok) {
    errors.push_back(
        {path, std::string("must be ") +
                   (type == "integer" || type == "object" || type == "array" ? "an " : "a ") +
                   (type == "file" ? "file value" : type)});
    return;
  }
  if (auto e = s.find("enum"); e != s.end() && e->is_array()) {
    if (std::find(e->begin(), e->end(), v) == e->end()) {
      std::string list;
      for (const auto& x : *e)
        list += (list.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
      errors.push_back({path, "must be one of " + list + " (not " + Short(v) + ")"});
      return;
    }
  }
  if (v.is_object() && type != "file") {
    if (auto r = s.find("required"); r != s.end() && r->is_array())
      for (const auto& n : *r)
        if (n.is_string() &&
            (!v.contains(n.get<std::string>()) || v[n.get<std::string>()].is_null()))
          errors.push_back({path + "." + n.get<std::string>(), "is required"});
    if (auto p = s.find("properties"); p != s.end() && p->is_object())
      for (auto it = v.begin(); it != v.end(); ++it)
        if (auto ps = p->find(it.key()); ps != p->end() && !it.value().is_null())
          Value(*ps, it.value(), path + "." + it.key(), depth + 1, errors, resolved);
  }
  if (v.is_array())
    if (auto i = s.find("items"); i != s.end())
      for (size_t k = 0; k < v.size() && errors.size() < kMaxSchemaErrors; ++k)
        Value(*i, v[k], path + "[" + std::to_string(k) + "]", depth + 1, errors, resolved);
}

Json Defaults(const Json& s, Json v, int depth) {
  if (!s.is_object() || depth > kMaxSchemaDepth || !v.is_object()) return v;
  auto p = s.find("properties");
  if (p == s.end() || !p->is_object()) return v;
  for (auto it = p->begin(); it != p->end(); ++it) {
    auto have = v.find(it.key());
    if (have == v.end() || have->is_null()) {
      if (it.value().is_object() && it.value().contains("default"))
        v[it.key()] = it.value()["default"];
    } else if (have->is_object()) {
      *have = Defaults(it.value(), std::move(*have), depth + 1);
    }
  }
  return v;
}

}  // namespace

void CheckSchema(const Json& schema, const std::string& path, std::vector<FieldError>& errors) {
  Check(schema, path, 0, errors);
}

void CheckValue(const Json& schema, const Json& value, const std::string& path,
                std::vector<FieldError>& errors, bool templates_resolved) {
  Value(schema, value, path, 0, errors, templates_resolved);
}

Json WithDefaults(const Json& schema, Json value) { return Defaults(schema, std::move(value), 0); }

}  // namespace weft
