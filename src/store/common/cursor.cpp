#include "store/common/cursor.h"

namespace weft::store {

std::string MakeRunCursor(const Run& r) {
  return std::to_string(ToUnixMs(r.created_at)) + "_" + r.id;
}

std::optional<std::pair<int64_t, std::string>> ParseRunCursor(const std::string& cursor) {
  auto sep = cursor.find('_');
  if (sep == std::string::npos || sep == 0 || sep + 1 == cursor.size()) return std::nullopt;
  int64_t ms = 0;
  for (size_t i = 0; i < sep; ++i) {
    if (cursor[i] < '0' || cursor[i] > '9' || ms > (INT64_MAX - 9) / 10) return std::nullopt;
    ms = ms * 10 + (cursor[i] - '0');
  }
  return std::make_pair(ms, cursor.substr(sep + 1));
}

}  // namespace weft::store
