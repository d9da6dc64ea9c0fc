// TimeZone: an IANA zone from the system tzdata (via H. Hinnant's date/tz),
// reduced to what schedules need: the offset period around an instant and the
// instants a wall-clock time maps to. Immutable once found; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "schedule/civil.h"
#include "schedule/posix_tz.h"

namespace weft {

class TimeZone {
 public:
  // A span of instants [begin, end) (Unix seconds) with one UTC offset.
  struct Period {
    int64_t begin;
    int64_t end;
    int32_t offset;  // seconds east of UTC
  };

  // How a wall-clock time maps to instants (Unix seconds).
  struct Mapping {
    enum class Kind { kUnique, kGap, kOverlap };
    Kind kind;
    int64_t first;   // kUnique: the instant; kGap: the transition (end of the gap);
                     // kOverlap: the first occurrence
    int64_t second;  // kOverlap: the second occurrence; otherwise == first
  };

  // "UTC", "Europe/Berlin", ... Fails with kValidation "unknown time zone \"X\"".
  static Result<TimeZone> Find(std::string_view name);
  static TimeZone Utc();

  const std::string& name() const { return name_; }
  bool is_utc() const { return zone_ == nullptr; }

  Period PeriodAt(int64_t unix_seconds) const;
  Mapping Map(LocalSeconds local) const;
  int32_t OffsetAt(int64_t unix_seconds) const { return PeriodAt(unix_seconds).offset; }
  LocalSeconds ToLocal(int64_t unix_seconds) const { return unix_seconds + OffsetAt(unix_seconds); }

  // ISO-8601 with this zone's offset: "2026-12-01T09:00:00+01:00" (".mmm" when non-zero).
  std::string FormatIso(TimePoint t) const;

 private:
  TimeZone(const void* zone, std::string name) : zone_(zone), name_(std::move(name)) {}
  static Result<TimeZone> Load(std::string_view name);
  Mapping MapByPeriods(LocalSeconds local) const;

  const void* zone_;  // const date::time_zone*, or null for UTC (kept out of this header)
  std::string name_;
  // tzdata lists transitions until 2037; after the last one its footer rule
  // applies (from `rule_from_`), which date/tz does not do with the OS database.
  std::shared_ptr<const PosixTz> rule_;
  int64_t rule_from_ = INT64_MAX;
};

// True if `name` is an IANA zone known to the system tzdata.
bool IsValidTimeZone(std::string_view name);

// FormatIso of `t` in the zone `zone_name` (kValidation error for an unknown zone).
Result<std::string> FormatIsoInZone(TimePoint t, std::string_view zone_name);

}  // namespace weft
