#include "common/json.h"

#include <algorithm>

namespace weft {

size_t JsonNesting(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::string TooDeepMessage() {
  return "arrays and objects nest more than " + std::to_string(kMaxJsonNesting) + " levels deep";
}

std::optional<Json> ParseJson(std::string_view text, std::string* error) {
  if (JsonNesting(text) > kMaxJsonNesting) {
    if (error) *error = TooDeepMessage();
    return std::nullopt;
  }
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
