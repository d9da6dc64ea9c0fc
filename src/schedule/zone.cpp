#include "schedule/zone.h"

#include <date/tz.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>

namespace weft {
namespace {

const date::time_zone* Cast(const void* p) { return static_cast<const date::time_zone*>(p); }

// Loads the tzdb once; date's own lazy init is not documented as thread-safe.
const date::tzdb* Tzdb() {
  static const date::tzdb* db = []() -> const date::tzdb* {
    try {
      return &date::get_tzdb();
    } catch (const std::exception&) {
      return nullptr;
    }
  }();
  return db;
}

bool IsUtcName(std::string_view n) {
  return n == "UTC" || n == "Etc/UTC" || n == "Etc/UCT" || n == "UCT" || n == "Etc/Universal" ||
         n == "Universal" || n == "Etc/Zulu" || n == "Zulu" || n == "GMT" || n == "Etc/GMT" ||
         n == "Etc/GMT0" || n == "Etc/GMT+0" || n == "Etc/GMT-0" || n == "GMT0" || n == "GMT+0" ||
         n == "GMT-0" || n == "Etc/Greenwich" || n == "Greenwich";
}

int64_t Seconds(date::sys_seconds s) { return s.time_since_epoch().count(); }

// The POSIX TZ rule on the last line of a TZif (v2+) file, "" if none.
std::string TzifFooter(std::string_view name) {
  std::ifstream in("/usr/share/zoneinfo/" + std::string(name), std::ios::binary);
  if (!in) return "";
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 2 || data.back() != '\n') return "";
  const size_t nl = data.rfind('\n', data.size() - 2);
  if (nl == std::string::npos) return "";
  return data.substr(nl + 1, data.size() - nl - 2);
}

}  // namespace

Result<TimeZone> TimeZone::Find(std::string_view name) {
  if (IsUtcName(name)) return TimeZone(nullptr, std::string(name));
  // Found zones are kept (there are a few hundred names at most), so parsing
  // many schedules reads each zone's file once.
  static std::mutex mu;
  static std::map<std::string, TimeZone, std::less<>> found;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = found.find(name);
    if (it != found.end()) return it->second;
  }
  auto zone = Load(name);
  if (zone) {
    std::lock_guard<std::mutex> lock(mu);
    found.emplace(std::string(name), *zone);
  }
  return zone;
}

Result<TimeZone> TimeZone::Load(std::string_view name) {
  const date::tzdb* db = Tzdb();
  if (db != nullptr && !name.empty()) {
    try {
      const date::time_zone* z = date::locate_zone(name);
      if (z != nullptr) {
        // Loads the zone's data now, outside any hot path.
        TimeZone zone(z, std::string(name));
        // 2300-01-01: past the last listed transition, in the final period.
        const date::sys_info last =
            z->get_info(date::sys_seconds{std::chrono::seconds{10413792000}});
        auto rule = PosixTz::Parse(TzifFooter(name));
        if (rule && rule->has_dst() && Seconds(last.end) > 10413792000) {
          zone.rule_ = std::make_shared<const PosixTz>(*rule);
          zone.rule_from_ = Seconds(last.begin);
        }
        return zone;
      }
    } catch (const std::exception&) {
    }
  }
  return Fail(ErrorCode::kValidation, "unknown time zone \"" + std::string(name) + "\"");
}

TimeZone TimeZone::Utc() { return TimeZone(nullptr, "UTC"); }

TimeZone::Period TimeZone::PeriodAt(int64_t unix_seconds) const {
  if (zone_ == nullptr) return {INT64_MIN / 4, INT64_MAX / 4, 0};
  if (unix_seconds >= rule_from_) {
    const PosixTz::Period p = rule_->PeriodAt(unix_seconds);
    return {std::max(p.begin, rule_from_), p.end, p.offset};
  }
  date::sys_info info =
      Cast(zone_)->get_info(date::sys_seconds{std::chrono::seconds{unix_seconds}});
  return {Seconds(info.begin), Seconds(info.end), static_cast<int32_t>(info.offset.count())};
}

// A wall time's instants from the offset periods alone (at most one
// transition within 14 hours either side, as in every real zone).
TimeZone::Mapping TimeZone::MapByPeriods(LocalSeconds local) const {
  const Period before = PeriodAt(local - 14 * 3600);
  const Period after = PeriodAt(local + 14 * 3600);
  const int64_t t1 = local - before.offset, t2 = local - after.offset;
  const bool ok1 = PeriodAt(t1).offset == before.offset;
  const bool ok2 = PeriodAt(t2).offset == after.offset;
  if (ok1 && ok2 && t1 != t2) {
    return {Mapping::Kind::kOverlap, std::min(t1, t2), std::max(t1, t2)};
  }
  if (ok1) return {Mapping::Kind::kUnique, t1, t1};
  if (ok2) return {Mapping::Kind::kUnique, t2, t2};
  return {Mapping::Kind::kGap, before.end, before.end};
}

TimeZone::Mapping TimeZone::Map(LocalSeconds local) const {
  if (zone_ == nullptr) return {Mapping::Kind::kUnique, local, local};
  if (local - 2 * civil::kSecondsPerDay > rule_from_) return MapByPeriods(local);
  date::local_info li = Cast(zone_)->get_info(date::local_seconds{std::chrono::seconds{local}});
  switch (li.result) {
    case date::local_info::nonexistent: {
      int64_t t = Seconds(li.second.begin);
      return {Mapping::Kind::kGap, t, t};
    }
    case date::local_info::ambiguous:
      return {Mapping::Kind::kOverlap, local - li.first.offset.count(),
              local - li.second.offset.count()};
    default: {
      int64_t t = local - li.first.offset.count();
      return {Mapping::Kind::kUnique, t, t};
    }
  }
}

std::string TimeZone::FormatIso(TimePoint t) const {
  const int64_t ms = ToUnixMs(t);
  const int64_t secs = civil::FloorDiv(ms, 1000);
  const int frac = static_cast<int>(ms - secs * 1000);
  const int32_t offset = OffsetAt(secs);
  const CivilTime c = civil::ToCivil(secs + offset);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", c.year, c.month, c.day,
                        c.hour, c.minute, c.second);
  if (frac != 0) n += std::snprintf(buf + n, sizeof buf - n, ".%03d", frac);
  const int32_t a = offset < 0 ? -offset : offset;
  if (a % 60 != 0) {
    std::snprintf(buf + n, sizeof buf - n, "%c%02d:%02d:%02d", offset < 0 ? '-' : '+', a / 3600,
                  a / 60 % 60, a % 60);
  } else {
    std::snprintf(buf + n, sizeof buf - n, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 3600,
                  a / 60 % 60);
  }
  return buf;
}

bool IsValidTimeZone(std::string_view name) { return TimeZone::Find(name).has_value(); }

Result<std::string> FormatIsoInZone(TimePoint t, std::string_view zone_name) {
  auto zone = TimeZone::Find(zone_name);
  if (!zone) return Fail(std::move(zone).error());
  return zone->FormatIso(t);
}

namespace civil {

std::string FormatWallTime(LocalSeconds s) {
  const CivilTime c = ToCivil(s);
  char buf[48];
  if (c.second != 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour,
                  c.minute, c.second);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour,
                  c.minute);
  }
  return buf;
}

std::string FormatTimeOfDay(int seconds_of_day) {
  char buf[16];
  const int h = seconds_of_day / 3600, m = seconds_of_day / 60 % 60, s = seconds_of_day % 60;
  if (s != 0) {
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%02d:%02d", h, m);
  }
  return buf;
}

}  // namespace civil
}  // namespace weft
