// What a store fills in on a new row the caller left blank. Pure; thread-safe.
#pragma once

#include <string>

#include "common/clock.h"
#include "common/ids.h"

namespace weft::store {

// A new row's creation time (`now` when unset) and id (a new one, ordered by
// that time, when unset).
inline void StampNew(std::string& id, TimePoint& created_at, TimePoint now) {
  if (created_at == TimePoint{}) created_at = now;
  if (id.empty()) id = NewId(ToUnixMs(created_at));
}

}  // namespace weft::store
