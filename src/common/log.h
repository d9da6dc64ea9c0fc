// Logging: one line per event, human-readable by default or JSON for machines
// (`weft serve --log-format json`). A thin facade over spdlog so every module
// logs the same way. Thread-safe. Never pass a secret or a full token here.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::log {

enum class Level { kDebug, kInfo, kWarn, kError };
using Fields = std::vector<std::pair<std::string_view, std::string>>;

// Chooses the format ("text" or "json") and the lowest level written.
void Configure(std::string_view format, Level min_level = Level::kInfo);

void Write(Level level, std::string_view message, const Fields& fields = {});
inline void Info(std::string_view m, const Fields& f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, const Fields& f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, const Fields& f = {}) { Write(Level::kError, m, f); }
inline void Debug(std::string_view m, const Fields& f = {}) { Write(Level::kDebug, m, f); }

}  // namespace weft::log
