// Helpers for declaring connector specs and reading step inputs, shared by
// every connector folder. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "core/action.h"

namespace weft::connectors {

// A FieldSpec in one line.
FieldSpec Field(std::string name, std::string title, std::string type, bool required,
                std::string help, Json default_value = nullptr,
                std::vector<std::string> enum_values = {});
// The same, marked secret (masked by the API, encrypted at rest, redacted in errors).
FieldSpec SecretField(std::string name, std::string title, bool required, std::string help);

// Reads optional inputs; kValidation naming `key` when present with the wrong type.
Result<std::optional<std::string>> OptString(const Json& in, const char* key);
Result<std::string> ReqString(const Json& in, const char* key);
Result<std::optional<int64_t>> OptInt(const Json& in, const char* key);
Result<std::optional<bool>> OptBool(const Json& in, const char* key);
// A duration input: a number of milliseconds or a duration string ("30s").
Result<std::optional<Millis>> OptDuration(const Json& in, const char* key);

// The value at a dotted path ("data.items", "meta.next_cursor", "items.0"); null when absent.
Json AtPath(const Json& value, const std::string& path);

// An ActionOutcome for a bad input.
ActionOutcome InputError(const Error& e);

}  // namespace weft::connectors
