// Schedule: the `trigger.schedule` document of docs/scheduling.md (kinds predefined,
// once, custom and cron), parsed and validated, with its next fire times and a
// plain-English description. A Schedule is an immutable value: copies share
// the compiled form, and every function here is thread-safe, so the scheduler
// and the API may call them concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"
#include "common/result.h"

namespace weft {

enum class ScheduleKind { kPredefined, kOnce, kCustom, kCron };
enum class Misfire { kRunOnce, kSkip };        // fire times missed while weft was down
enum class Overlap { kAllow, kSkip, kQueue };  // the previous scheduled run is unfinished

std::string_view ScheduleKindName(ScheduleKind kind);  // "predefined", ...
std::string_view MisfireName(Misfire m);               // "run_once" | "skip"
std::string_view OverlapName(Overlap o);               // "allow" | "skip" | "queue"

namespace schedule_internal {
class Plan;
}

struct Schedule {
  ScheduleKind kind = ScheduleKind::kCron;
  std::string timezone = "UTC";  // IANA name, validated
  Misfire misfire = Misfire::kRunOnce;
  Overlap overlap = Overlap::kAllow;
  std::optional<TimePoint> start;    // no fire before it (inclusive); also the predefined anchor
  std::optional<TimePoint> end;      // no fire after it (inclusive)
  std::optional<TimePoint> once_at;  // kind once: the instant `at` names in `timezone`
  std::string at;                    // kind once: `at` as written
  std::string cron;                  // kind cron: the expression as written
  std::optional<Millis> every;       // predefined, and custom every+between
  Json document;                     // the document as given, for echoing back

  std::shared_ptr<const schedule_internal::Plan> plan;  // compiled; never null after parsing
};

// Parses and validates a schedule object. `default_timezone` applies when the
// document has no `timezone` (the server's --timezone, default UTC). On failure
// the Error (kValidation) lists every problem, each with a path relative to the
// schedule object ("cron", "timezone", "end", "times[1]"); callers prefix it.
Result<Schedule> ParseSchedule(const Json& doc, std::string_view default_timezone = "UTC");

// A `kind: cron` schedule, for `weft cron next` and tests.
Result<Schedule> MakeCronSchedule(std::string_view expr, std::string_view timezone = "UTC");

// The first fire instant strictly after `after`, not before start, not after
// end; nullopt when there is none (a fired once, an end passed).
std::optional<TimePoint> NextFireTime(const Schedule& schedule, TimePoint after);

// Up to `count` fire instants strictly after `after`, strictly increasing.
std::vector<TimePoint> NextFireTimes(const Schedule& schedule, TimePoint after, size_t count);

// "Every 15 minutes", "At 09:00 and 17:30 on Monday, Wednesday and Friday,
// Europe/Berlin", "Once at 2026-12-24 18:00, Europe/Berlin".
std::string DescribeSchedule(const Schedule& schedule);

// The body of POST /api/v1/schedules/preview: {"next": [ISO-8601 with the
// zone's offset, ...], "description": "..."} for the next `count` fires after `after`.
Json SchedulePreview(const Schedule& schedule, TimePoint after, size_t count);

// An instant as ISO-8601 with the schedule zone's offset: "2026-12-01T09:00:00+01:00".
std::string FormatInScheduleZone(const Schedule& schedule, TimePoint t);

// For `kind: once`: true if `at` is not after `now`. The caller applies it only
// when `at` changed in a save, so a fired one-time flow can still be saved.
bool OnceAtIsPast(const Schedule& schedule, TimePoint now);
// The same as a validation problem: {"at", "2026-12-24 18:00 (Europe/Berlin) is in the past"}.
std::optional<FieldError> CheckOnceNotPast(const Schedule& schedule, TimePoint now);

}  // namespace weft
