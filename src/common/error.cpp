#include "common/error.h"

namespace weft {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kValidation:
      return "validation_failed";
    case ErrorCode::kBadRequest:
      return "bad_request";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kVersionConflict:
      return "version_conflict";
    case ErrorCode::kFlowInactive:
      return "flow_inactive";
    case ErrorCode::kNoDelivery:
      return "no_delivery";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kTooManyRequests:
      return "too_many_requests";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kStepFailed:
      return "step_failed";
    case ErrorCode::kExpression:
      return "expression_error";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace weft
