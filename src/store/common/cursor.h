// The ListRuns cursor, "<created_at ms>_<id>" of the last run on a page: the
// next page starts strictly after it, so runs created meanwhile never shift
// or repeat a page. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "core/model.h"

namespace weft::store {

std::string MakeRunCursor(const Run& r);
// (created_at ms, id), or nullopt when `cursor` is not one MakeRunCursor made.
std::optional<std::pair<int64_t, std::string>> ParseRunCursor(const std::string& cursor);

}  // namespace weft::store
