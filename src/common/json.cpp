#include "common/json.h"

namespace weft {

std::optional<Json> ParseJson(std::string_view text, std::string* error) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    // parse_error for bad grammar; out_of_range for a number no double holds (1e99999)
    if (error) *error = e.what();
    return std::nullopt;
  }
}

std::string GetString(const Json& j, const char* key, std::string fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

}  // namespace weft
