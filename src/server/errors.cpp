#include "server/errors.h"

#include "core/api_json.h"

namespace weft::server {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kValidation:
      return 400;
    case ErrorCode::kBadRequest:
      return 400;
    case ErrorCode::kExpression:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kVersionConflict:
      return 409;
    case ErrorCode::kFlowInactive:
      return 409;
    case ErrorCode::kNoDelivery:
      return 409;
    case ErrorCode::kCancelled:
      return 409;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kTooManyRequests:
      return 429;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kStepFailed:
      return 500;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(const Error& error) {
  return HttpResponse::FromJson(HttpStatusFor(error.code), ErrorToJson(error));
}

HttpResponse ErrorResponse(ErrorCode code, std::string message) {
  return ErrorResponse(Error(code, std::move(message)));
}

}  // namespace weft::server
