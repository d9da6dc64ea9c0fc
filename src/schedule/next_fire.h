// Wall-clock fire times in a zone, with docs/scheduling.md's daylight-saving rules:
// a fixed-time pattern fires at the end of a gap and once in an overlap; an
// interval pattern skips times in a gap and fires at both occurrences in an
// overlap. Pure functions over immutable inputs; thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "common/clock.h"
#include "schedule/civil.h"
#include "schedule/cron.h"
#include "schedule/zone.h"

namespace weft {

// The first fire instant (Unix seconds) strictly after `after` (Unix seconds)
// of a pattern P with `std::optional<LocalSeconds> P::NextLocal(LocalSeconds)`
// (the smallest matching wall time strictly after its argument).
template <typename Pattern>
std::optional<int64_t> NextWallClockFire(const Pattern& pattern, bool fixed_time,
                                         const TimeZone& zone, int64_t after) {
  if (zone.is_utc()) {
    auto local = pattern.NextLocal(after);
    return local ? std::optional<int64_t>(*local) : std::nullopt;
  }
  if (fixed_time) {
    // One wall time per day, so the instants are in the order of the days;
    // start a day early, since the day of `after` may map past it.
    const int32_t offset = zone.OffsetAt(after);
    LocalSeconds x = after + offset - civil::kSecondsPerDay - 1;
    // Offsets within a day of `after` differ from `offset` by less than this,
    // so a wall time this far before it needs no exact mapping.
    constexpr int64_t kMaxShift = 3 * 3600;
    for (int i = 0; i < 100000; ++i) {
      auto local = pattern.NextLocal(x);
      if (!local) return std::nullopt;
      x = *local;
      if (*local - offset + kMaxShift <= after) continue;
      const int64_t t = zone.Map(*local).first;  // gap: end of gap; overlap: first occurrence
      if (t > after) return t;
    }
    return std::nullopt;
  }
  // Interval pattern: within each period of constant offset, the fire times
  // are the instants whose wall time matches.
  int64_t t = after;
  bool strict = true;
  for (int i = 0; i < 100000; ++i) {
    const TimeZone::Period p = zone.PeriodAt(t);
    const LocalSeconds local = t + p.offset;
    auto next = pattern.NextLocal(strict ? local : local - 1);
    if (!next) return std::nullopt;
    const int64_t candidate = *next - p.offset;
    if (candidate < p.end) return candidate;
    t = p.end;
    strict = false;
  }
  return std::nullopt;
}

// The first fire of a cron expression in `zone` strictly after `after`.
std::optional<TimePoint> NextCronFire(const CronExpr& cron, const TimeZone& zone, TimePoint after);

}  // namespace weft
