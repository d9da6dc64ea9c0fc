// Reading request bodies and writing common answers, for the API handlers.
#pragma once

#include <optional>

#include "common/json.h"
#include "common/result.h"
#include "server/http.h"

namespace weft::server {

// The body as JSON (YAML too when allow_yaml). An empty body gives
// `empty_value` when set, else kBadRequest. Malformed text: kBadRequest with
// the parser's message.
Result<Json> ParseJsonBody(const HttpRequest& req, bool allow_yaml,
                           std::optional<Json> empty_value = std::nullopt);

// A validation error about one field.
Error FieldProblem(const std::string& path, const std::string& message);

}  // namespace weft::server
