// The one place where an Error becomes an HTTP status and body (docs/api.md).
// Pure functions; thread-safe.
#pragma once

#include "common/error.h"
#include "server/http.h"

namespace weft::server {

int HttpStatusFor(ErrorCode code);
// The status for error.code and the body {"error": {...}} of core's ErrorToJson.
HttpResponse ErrorResponse(const Error& error);
HttpResponse ErrorResponse(ErrorCode code, std::string message);

}  // namespace weft::server
