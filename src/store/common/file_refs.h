// Which files a run's JSON references (core/files.h), for the run_files rows
// both stores write beside it. Pure; thread-safe.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "core/files.h"

namespace weft::store {

// The file ids in `v`, each once.
inline std::vector<std::string> FileIdsIn(const Json& v) {
  std::vector<std::string> ids;
  if (v.is_object() || v.is_array()) CollectFileIds(v, &ids);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// The same for JSON as weft wrote it (compact): only text that holds a file
// value's marker is parsed, so the common case costs one search.
inline std::vector<std::string> FileIdsInText(std::string_view text) {
  if (text.find("\"type\":\"file\"") == std::string_view::npos) return {};
  auto j = ParseJson(text, nullptr);
  if (!j) return {};
  return FileIdsIn(*j);
}

}  // namespace weft::store
