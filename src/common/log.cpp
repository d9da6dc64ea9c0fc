#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "common/json.h"

namespace weft::log {
namespace {

std::atomic<bool> g_json{false};
std::atomic<int> g_min{static_cast<int>(Level::kInfo)};

std::shared_ptr<spdlog::logger> Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("weft");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    l->set_level(spdlog::level::debug);
    return l;
  }();
  return logger;
}

spdlog::level::level_enum ToSpd(Level l) {
  switch (l) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void Configure(std::string_view format, Level min_level) {
  g_json = format == "json";
  g_min = static_cast<int>(min_level);
  if (g_json) Logger()->set_pattern("%v");
}

void Write(Level level, std::string_view message, const Fields& fields) {
  if (static_cast<int>(level) < g_min) return;
  std::string line;
  if (g_json) {
    Json j = Json::object();
    j["time"] = nullptr;  // filled below to keep the key first
    j["level"] = spdlog::level::to_string_view(ToSpd(level)).data();
    j["msg"] = std::string(message);
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    auto now = std::chrono::system_clock::now();
    auto secs =
        std::chrono::time_point_cast<std::chrono::milliseconds>(now).time_since_epoch().count();
    j["time"] = secs;
    line = j.dump();
  } else {
    line.assign(message);
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      bool quote = v.empty() || v.find(' ') != std::string::npos;
      if (quote) line += '"';
      line += v;
      if (quote) line += '"';
    }
  }
  Logger()->log(ToSpd(level), line);
}

}  // namespace weft::log
