// JSON values for the whole program: nlohmann::json, with ordered keys so a
// document keeps the order its author wrote. Helpers for reading typed fields.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace weft {

using Json = nlohmann::ordered_json;

// How deep arrays and objects may nest in JSON weft reads from outside
// (request bodies, flow documents, API answers). nlohmann's parser keeps its
// own stack, but copying, comparing and writing a value recurse once per
// level: 100,000 nested brackets (200 KB of text) overflowed a worker's
// stack and took the server down. 512 is deeper than any real document.
inline constexpr size_t kMaxJsonNesting = 512;

// The deepest nesting of [ and { outside strings in a JSON text, found
// without parsing it (a string's escapes are skipped).
size_t JsonNesting(std::string_view text);

// Parses text as JSON; on failure returns nullopt and sets *error to the
// parser's message. Text nested deeper than kMaxJsonNesting is refused unread.
std::optional<Json> ParseJson(std::string_view text, std::string* error = nullptr);

// The message ParseJson gives for text nested too deep.
std::string TooDeepMessage();

// The string at j[key] if it is a string, else `fallback`.
std::string GetString(const Json& j, const char* key, std::string fallback = "");

}  // namespace weft
