// Error: what went wrong, for callers that must handle it. Values only; thread-safe to copy.
// The HTTP status for each code is decided in exactly one place, in server/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weft {

enum class ErrorCode {
  kValidation,  // a document or request field is wrong; see details
  kBadRequest,  // the request as a whole cannot be understood
  kNotFound,
  kConflict,         // unique name taken, object in use, wrong state
  kVersionConflict,  // PUT with a base_version the flow has moved past
  kFlowInactive,
  kNoDelivery,
  kUnauthorized,
  kForbidden,
  kMethodNotAllowed,
  kPayloadTooLarge,
  kTooManyRequests,
  kTimeout,
  kCancelled,
  kUnavailable,  // a far side (network, database) could not be reached
  kStepFailed,   // a step's action failed (connector error)
  kExpression,   // an expression failed to parse or evaluate
  kInternal,
};

// Stable snake_case name used in API bodies: "validation_failed", "not_found", ...
std::string_view ErrorCodeName(ErrorCode code);

// One problem with one field of a document, e.g. {"steps[2].with.url", "is required"}.
struct FieldError {
  std::string path;
  std::string message;
  bool operator==(const FieldError&) const = default;
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::vector<FieldError> details;  // validation problems, each with its path

  Error() = default;
  Error(ErrorCode c, std::string m, std::vector<FieldError> d = {})
      : code(c), message(std::move(m)), details(std::move(d)) {}
};

}  // namespace weft
