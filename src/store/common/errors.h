// The Errors both stores return for the same reasons, worded once, and the
// exception a row reader throws for a stored value it does not know. Pure;
// thread-safe.
#pragma once

#include <stdexcept>
#include <string>

#include "common/result.h"

namespace weft::store {

// A stored value weft cannot read (an unknown run status, step status or
// role): the database was changed by hand or by a newer weft. Each store's
// Guard turns it into kInternal with this message.
struct CorruptValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline Unexpected NotFound(const std::string& what) {
  return Fail(ErrorCode::kNotFound, what + " not found");
}

inline Unexpected NameTaken(const std::string& what, const std::string& name) {
  return Fail(ErrorCode::kConflict, "a " + what + " named \"" + name + "\" already exists");
}

inline Unexpected TokenTaken() {
  return Fail(ErrorCode::kConflict, "the webhook token is already used by another flow");
}

}  // namespace weft::store
