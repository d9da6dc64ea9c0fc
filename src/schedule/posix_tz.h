// PosixTz: the rule in a TZif file's footer ("EST5EDT,M3.2.0,M11.1.0"), which
// tzdata uses for the years after its last listed transition (2037). date/tz
// with the OS database does not apply it, so zone.cpp does, past that point.
// Immutable; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace weft {

class PosixTz {
 public:
  // nullopt if `spec` is not a POSIX TZ string (RFC 8536 §3.3 extensions included).
  static std::optional<PosixTz> Parse(std::string_view spec);

  bool has_dst() const { return has_dst_; }

  // The offset period around `unix_seconds` under this rule alone.
  struct Period {
    int64_t begin;
    int64_t end;
    int32_t offset;
  };
  Period PeriodAt(int64_t unix_seconds) const;

 private:
  struct When {
    char kind = 'M';  // 'M' month.week.day, 'J' 1..365 without 29 Feb, 'N' 0..365
    int month = 0, week = 0, weekday = 0, day = 0;
    int32_t time = 7200;  // seconds after local midnight; may be negative or over 24h
  };
  // The instant (Unix seconds) of the transition `w` in `year`, wall time read at `offset`.
  static int64_t Transition(const When& w, int year, int32_t offset);

  int32_t std_offset_ = 0;  // seconds east of UTC
  int32_t dst_offset_ = 0;
  bool has_dst_ = false;
  When start_, end_;  // DST starts (read in standard time), ends (read in DST)
};

}  // namespace weft
