// JSON values for the whole program: nlohmann::json, with ordered keys so a
// document keeps the order its author wrote. Helpers for reading typed fields.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace weft {

using Json = nlohmann::ordered_json;

// Parses text as JSON; on failure returns nullopt and sets *error to the parser's message.
std::optional<Json> ParseJson(std::string_view text, std::string* error = nullptr);

// The string at j[key] if it is a string, else `fallback`.
std::string GetString(const Json& j, const char* key, std::string fallback = "");

}  // namespace weft
