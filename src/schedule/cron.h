// CronExpr: a parsed cron expression (5 fields, or 6 with seconds first) and
// its next matching wall-clock time, found by jumping field by field. Zone
// handling (daylight saving) lives in next_fire.h. Immutable; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "schedule/civil.h"

namespace weft {

class CronExpr {
 public:
  // Parses `text`. On failure: kValidation with a message naming the field and
  // the problem, e.g. "minute 60 is out of range 0-59".
  static Result<CronExpr> Parse(std::string_view text);

  // The smallest matching wall-clock time strictly after `after`; nullopt if
  // none within 400 years (e.g. "0 0 30 2 *").
  std::optional<LocalSeconds> NextLocal(LocalSeconds after) const;

  // True if the given day matches the day-of-month, month and day-of-week fields.
  bool MatchesDay(int year, int month, int day) const;

  // Second, minute and hour each hold one plain value: docs/scheduling.md's
  // "fixed-time" job (a wall time in a DST gap fires at the end of the gap,
  // one in an overlap fires once). Every other expression is an interval job.
  bool IsFixedTime() const { return fixed_time_; }
  // For a fixed-time expression, the time of day in seconds.
  int FixedTimeOfDay() const { return fixed_time_of_day_; }

  // Plain English without the zone: "Every 15 minutes", "At 02:00 on the last
  // weekday of the month".
  std::string Describe() const;

  const std::string& text() const { return text_; }

 private:
  friend class CronParser;
  friend class CronDescriber;

  // Bits of the days (1..31) of the month matching the day fields.
  uint64_t DayMask(int year, int month) const;

  uint64_t second_ = 0;                // bits 0..59
  uint64_t minute_ = 0;                // bits 0..59
  uint64_t hour_ = 0;                  // bits 0..23
  uint64_t dom_ = 0;                   // bits 1..31
  uint64_t month_ = 0;                 // bits 1..12
  uint64_t dow_ = 0;                   // bits 0..6, Sunday = 0
  bool dom_last_ = false;              // L
  bool dom_last_weekday_ = false;      // LW
  uint64_t dom_nearest_ = 0;           // bits n for nW
  uint64_t dow_last_ = 0;              // bits w for wL
  std::array<uint64_t, 6> dow_nth_{};  // [k] = bits w for w#k, k = 1..5
  bool dom_any_ = true;                // the field is literally * or ?
  bool dow_any_ = true;
  bool has_seconds_ = false;
  bool fixed_time_ = false;
  int fixed_time_of_day_ = 0;
  std::string text_;
  std::array<std::string, 6> fields_;  // second, minute, hour, dom, month, dow (normalized)
};

}  // namespace weft
