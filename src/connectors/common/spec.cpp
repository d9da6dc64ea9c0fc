#include "connectors/common/spec.h"

#include <cstdlib>

#include "common/time_format.h"

namespace weft::connectors {

FieldSpec Field(std::string name, std::string title, std::string type, bool required,
                std::string help, Json default_value, std::vector<std::string> enum_values) {
  FieldSpec f;
  f.name = std::move(name);
  f.title = std::move(title);
  f.type = std::move(type);
  f.required = required;
  f.help = std::move(help);
  f.default_value = std::move(default_value);
  f.enum_values = std::move(enum_values);
  return f;
}

FieldSpec SecretField(std::string name, std::string title, bool required, std::string help) {
  FieldSpec f = Field(std::move(name), std::move(title), "string", required, std::move(help));
  f.secret = true;
  return f;
}

namespace {
Unexpected WrongType(const char* key, const char* what) {
  return Fail(ErrorCode::kValidation, std::string(key) + " must be " + what,
              {{std::string("with.") + key, std::string("must be ") + what}});
}
}  // namespace

Result<std::optional<std::string>> OptString(const Json& in, const char* key) {
  if (!in.is_object()) return std::optional<std::string>();
  auto it = in.find(key);
  if (it == in.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_number() || it->is_boolean()) return std::optional<std::string>(it->dump());
  return WrongType(key, "a string");
}

Result<std::string> ReqString(const Json& in, const char* key) {
  auto v = OptString(in, key);
  if (!v) return Fail(std::move(v).error());
  if (!v->has_value() || (*v)->empty())
    return Fail(ErrorCode::kValidation, std::string(key) + " is required",
                {{std::string("with.") + key, "is required"}});
  return **v;
}

Result<std::optional<int64_t>> OptInt(const Json& in, const char* key) {
  if (!in.is_object()) return std::optional<int64_t>();
  auto it = in.find(key);
  if (it == in.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_integer()) return std::optional<int64_t>(it->get<int64_t>());
  if (it->is_number_float() &&
      it->get<double>() == static_cast<double>(static_cast<int64_t>(it->get<double>())))
    return std::optional<int64_t>(static_cast<int64_t>(it->get<double>()));
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end && *end == '\0') return std::optional<int64_t>(v);
  }
  return WrongType(key, "an integer");
}

Result<std::optional<bool>> OptBool(const Json& in, const char* key) {
  if (!in.is_object()) return std::optional<bool>();
  auto it = in.find(key);
  if (it == in.end() || it->is_null()) return std::optional<bool>();
  if (it->is_boolean()) return std::optional<bool>(it->get<bool>());
  if (it->is_string()) {
    if (*it == "true") return std::optional<bool>(true);
    if (*it == "false") return std::optional<bool>(false);
  }
  return WrongType(key, "true or false");
}

Result<std::optional<Millis>> OptDuration(const Json& in, const char* key) {
  if (!in.is_object()) return std::optional<Millis>();
  auto it = in.find(key);
  if (it == in.end() || it->is_null()) return std::optional<Millis>();
  if (it->is_number() && it->get<double>() >= 0)
    return std::optional<Millis>(Millis(static_cast<int64_t>(it->get<double>())));
  if (it->is_string()) {
    if (auto d = ParseDuration(it->get<std::string>())) return std::optional<Millis>(*d);
  }
  return WrongType(key, "a duration such as 30s");
}

Json AtPath(const Json& value, const std::string& path) {
  if (path.empty()) return value;
  const Json* cur = &value;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (cur->is_object()) {
      auto it = cur->find(part);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      char* end = nullptr;
      unsigned long i = std::strtoul(part.c_str(), &end, 10);
      if (part.empty() || *end != '\0' || i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else {
      return nullptr;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *cur;
}

ActionOutcome InputError(const Error& e) {
  ActionOutcome o;
  o.error = e;
  return o;
}

}  // namespace weft::connectors
