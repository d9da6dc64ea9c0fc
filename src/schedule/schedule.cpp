#include "schedule/schedule.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <variant>

#include "common/time_format.h"
#include "schedule/civil.h"
#include "schedule/cron.h"
#include "schedule/describe.h"
#include "schedule/next_fire.h"
#include "schedule/zone.h"

namespace weft {
namespace schedule_internal {

// custom every+between: an interval job on a wall-clock grid from `from` to
// `to` (inclusive, seconds of the day) on the days `days` matches.
struct WindowPattern {
  CronExpr days;  // only its day fields matter: seconds, minutes and hours are `*`
  int from = 0;
  int to = 0;
  int step = 60;

  std::optional<LocalSeconds> NextLocal(LocalSeconds after) const {
    const int64_t day = civil::FloorDiv(after, civil::kSecondsPerDay);
    const int64_t tod = after - day * civil::kSecondsPerDay;
    int y, m, d;
    civil::CivilFromDays(day, &y, &m, &d);
    if (days.MatchesDay(y, m, d)) {
      if (tod < from) return day * civil::kSecondsPerDay + from;
      const int64_t next = from + ((tod - from) / step + 1) * step;
      if (next <= to) return day * civil::kSecondsPerDay + next;
    }
    auto next_day = days.NextLocal((day + 1) * civil::kSecondsPerDay - 1);
    if (!next_day) return std::nullopt;
    return *next_day + from;  // NextLocal lands on 00:00:00 of the next matching day
  }
};

class Plan {
 public:
  enum class Type { kWallClock, kWindow, kElapsed, kOnce };

  explicit Plan(TimeZone z) : zone(std::move(z)) {}

  // The first fire strictly after `after_ms`, ignoring start and end.
  std::optional<int64_t> Next(int64_t after_ms) const {
    switch (type) {
      case Type::kOnce:
        return once_ms > after_ms ? std::optional<int64_t>(once_ms) : std::nullopt;
      case Type::kElapsed:
        return NextElapsed(after_ms);
      case Type::kWindow: {
        auto t = NextWallClockFire(*window, false, zone, civil::FloorDiv(after_ms, 1000));
        return t ? std::optional<int64_t>(*t * 1000) : std::nullopt;
      }
      case Type::kWallClock: {
        const int64_t after_s = civil::FloorDiv(after_ms, 1000);
        std::optional<int64_t> best;
        for (const CronExpr& c : crons) {
          auto t = NextWallClockFire(c, c.IsFixedTime(), zone, after_s);
          if (t && (!best || *t < *best)) best = t;
        }
        return best ? std::optional<int64_t>(*best * 1000) : std::nullopt;
      }
    }
    return std::nullopt;
  }

  TimeZone zone;
  Type type = Type::kWallClock;
  std::vector<CronExpr> crons;
  std::optional<WindowPattern> window;
  int64_t every_ms = 0;
  std::optional<int64_t> anchor_ms;  // predefined sub-day: start; else local midnights
  int64_t once_ms = 0;
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  std::string description;

 private:
  // The first instant of local day `day` (midnight, or the end of a gap at midnight).
  int64_t DayStartMs(int64_t day) const {
    return zone.Map(day * civil::kSecondsPerDay).first * 1000;
  }

  std::optional<int64_t> NextElapsed(int64_t after_ms) const {
    if (anchor_ms) {
      if (after_ms < *anchor_ms) return *anchor_ms;
      return *anchor_ms + (civil::FloorDiv(after_ms - *anchor_ms, every_ms) + 1) * every_ms;
    }
    // No start: elapsed time from each local midnight, restarting at the next.
    const int64_t local_day =
        civil::FloorDiv(zone.ToLocal(civil::FloorDiv(after_ms, 1000)), civil::kSecondsPerDay);
    for (int64_t day = local_day - 1; day <= local_day + 3; ++day) {
      const int64_t begin = DayStartMs(day), end = DayStartMs(day + 1);
      if (end <= after_ms) continue;
      if (begin > after_ms) return begin;
      const int64_t next = begin + ((after_ms - begin) / every_ms + 1) * every_ms;
      if (next < end) return next;
    }
    return std::nullopt;
  }
};

}  // namespace schedule_internal

using schedule_internal::Plan;
using schedule_internal::WindowPattern;

namespace {

struct Problems {
  std::vector<FieldError> list;
  void Add(std::string path, std::string message) {
    list.push_back({std::move(path), std::move(message)});
  }
};

std::string Indexed(const char* field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// "HH:MM" or "HH:MM:SS" -> seconds of the day.
std::optional<int> ParseTimeOfDay(std::string_view s) {
  int h, m, sec = 0;
  if (s.size() != 5 && s.size() != 8) return std::nullopt;
  if (!Digits(s, 0, 2, &h) || s[2] != ':' || !Digits(s, 3, 2, &m)) return std::nullopt;
  if (s.size() == 8 && (s[5] != ':' || !Digits(s, 6, 2, &sec))) return std::nullopt;
  if (h > 23 || m > 59 || sec > 59) return std::nullopt;
  return h * 3600 + m * 60 + sec;
}

// A wall time "YYYY-MM-DDTHH:MM[:SS]" (or "YYYY-MM-DD", midnight), or an
// instant when it carries "Z" or an offset.
using WallOrInstant = std::variant<LocalSeconds, TimePoint>;

std::optional<WallOrInstant> ParseWallTime(std::string_view s) {
  if (auto instant = ParseIso(s)) return WallOrInstant(*instant);
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d))
    return std::nullopt;
  if (s.size() > 10) {
    if ((s[10] != 'T' && s[10] != ' ') || s.size() < 16 || !Digits(s, 11, 2, &h) || s[13] != ':' ||
        !Digits(s, 14, 2, &mi))
      return std::nullopt;
    if (s.size() > 16) {
      if (s.size() != 19 || s[16] != ':' || !Digits(s, 17, 2, &sec)) return std::nullopt;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > civil::DaysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59)
    return std::nullopt;
  return WallOrInstant(civil::FromCivil({y, mo, d, h, mi, sec}));
}

// Gap: the end of the gap; overlap: the first occurrence (docs/scheduling.md, once).
TimePoint Resolve(const WallOrInstant& w, const TimeZone& zone) {
  if (const TimePoint* t = std::get_if<TimePoint>(&w)) return *t;
  return FromUnixMs(zone.Map(std::get<LocalSeconds>(w)).first * 1000);
}

LocalSeconds WallOf(const WallOrInstant& w, const TimeZone& zone) {
  if (const LocalSeconds* l = std::get_if<LocalSeconds>(&w)) return *l;
  return zone.ToLocal(civil::FloorDiv(ToUnixMs(std::get<TimePoint>(w)), 1000));
}

constexpr std::array<int64_t, 14> kPredefinedMinutes = {1,   5,   10,  15,  30,  60,   120,
                                                        180, 240, 360, 480, 720, 1440, 10080};

const char* kPredefinedList = "1m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d or 1w";

// A day name or range ("mon", "Monday", "mon-fri", "weekdays") as a cron day-of-week item.
std::optional<std::string> DayItem(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "weekdays") return "1-5";
  if (s == "weekends" || s == "weekend") return "0,6";
  if (s == "daily" || s == "every day" || s == "*") return "*";
  static const char* kShort[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  static const char* kLong[] = {"sunday",   "monday", "tuesday", "wednesday",
                                "thursday", "friday", "saturday"};
  auto one = [&](const std::string& n) -> int {
    for (int i = 0; i < 7; ++i) {
      if (n == kShort[i] || n == kLong[i]) return i;
    }
    return -1;
  };
  const size_t dash = s.find('-');
  if (dash == std::string::npos) {
    int d = one(s);
    if (d < 0) return std::nullopt;
    return std::to_string(d);
  }
  int a = one(s.substr(0, dash)), b = one(s.substr(dash + 1));
  if (a < 0 || b < 0) return std::nullopt;
  if (b == 0 && a > 0) b = 7;  // "fri-sun"
  if (a > b) return std::nullopt;
  return std::to_string(a) + "-" + std::to_string(b);
}

std::string ZoneSuffix(const TimeZone& zone) {
  return zone.is_utc() && zone.name() == "UTC" ? "" : ", " + zone.name();
}

}  // namespace

std::string_view ScheduleKindName(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kPredefined:
      return "predefined";
    case ScheduleKind::kOnce:
      return "once";
    case ScheduleKind::kCustom:
      return "custom";
    case ScheduleKind::kCron:
      return "cron";
  }
  return "cron";
}

std::string_view MisfireName(Misfire m) { return m == Misfire::kSkip ? "skip" : "run_once"; }

std::string_view OverlapName(Overlap o) {
  switch (o) {
    case Overlap::kAllow:
      return "allow";
    case Overlap::kSkip:
      return "skip";
    case Overlap::kQueue:
      return "queue";
  }
  return "allow";
}

Result<Schedule> ParseSchedule(const Json& doc, std::string_view default_timezone) {
  Problems problems;
  if (!doc.is_object()) {
    return Fail(ErrorCode::kValidation, "invalid schedule", {{"", "must be an object"}});
  }
  Schedule s;
  s.document = doc;

  auto str = [&](const char* key, std::string* out) -> bool {  // false: absent or null
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return false;
    if (!it->is_string()) {
      problems.Add(key, "must be a string");
      return false;
    }
    *out = it->get<std::string>();
    return true;
  };

  // kind
  std::string kind;
  if (!str("kind", &kind)) {
    if (!doc.contains("kind") || doc["kind"].is_null())
      problems.Add("kind", "is required: predefined, once, custom or cron");
  } else if (kind == "predefined") {
    s.kind = ScheduleKind::kPredefined;
  } else if (kind == "once") {
    s.kind = ScheduleKind::kOnce;
  } else if (kind == "custom") {
    s.kind = ScheduleKind::kCustom;
  } else if (kind == "cron") {
    s.kind = ScheduleKind::kCron;
  } else {
    problems.Add("kind",
                 "\"" + kind + "\" is not a schedule kind: use predefined, once, custom or cron");
    kind.clear();
  }

  // timezone
  std::optional<TimeZone> zone;
  std::string tz_name(default_timezone.empty() ? "UTC" : default_timezone);
  str("timezone", &tz_name);
  if (auto z = TimeZone::Find(tz_name)) {
    zone = *z;
    s.timezone = tz_name;
  } else {
    problems.Add("timezone",
                 "unknown time zone \"" + tz_name + "\" (use an IANA name such as Europe/Berlin)");
  }
  const TimeZone& tz = zone ? *zone : TimeZone::Utc();

  // misfire, overlap
  std::string v;
  if (str("misfire", &v)) {
    if (v == "run_once")
      s.misfire = Misfire::kRunOnce;
    else if (v == "skip")
      s.misfire = Misfire::kSkip;
    else
      problems.Add("misfire", "\"" + v + "\" is not run_once or skip");
  }
  if (str("overlap", &v)) {
    if (v == "allow")
      s.overlap = Overlap::kAllow;
    else if (v == "skip")
      s.overlap = Overlap::kSkip;
    else if (v == "queue")
      s.overlap = Overlap::kQueue;
    else
      problems.Add("overlap", "\"" + v + "\" is not allow, skip or queue");
  }

  // start, end
  std::optional<WallOrInstant> start_wall, end_wall;
  for (const char* key : {"start", "end"}) {
    std::string text;
    if (!str(key, &text)) continue;
    auto w = ParseWallTime(text);
    if (!w) {
      problems.Add(key, "\"" + text + "\" is not a date-time (use 2026-12-01T09:00:00)");
      continue;
    }
    (key[0] == 's' ? start_wall : end_wall) = w;
    (key[0] == 's' ? s.start : s.end) = Resolve(*w, tz);
  }
  if (s.start && s.end && *s.end < *s.start) problems.Add("end", "is before start");

  auto plan = std::make_shared<Plan>(tz);

  auto every_duration = [&](std::optional<Millis>* out) {
    std::string text;
    auto it = doc.find("every");
    if (it == doc.end() || it->is_null()) return;
    if (!str("every", &text)) return;
    // Weeks are not a weft duration unit elsewhere, but `every: 1w` is.
    std::optional<Millis> d;
    if (text.size() > 1 && text.back() == 'w') {
      d = ParseDuration(text.substr(0, text.size() - 1) + "d");
      if (d) *d *= 7;
    } else {
      d = ParseDuration(text);
    }
    if (!d || d->count() <= 0) {
      problems.Add("every", "\"" + text + "\" is not a duration (such as 15m, 2h or 1d)");
      return;
    }
    *out = *d;
  };

  // Reads days / days_of_month into cron day-of-month and day-of-week fields.
  auto day_fields = [&](std::string* dom, std::string* dow) {
    *dom = "*";
    *dow = "*";
    const bool has_days = doc.contains("days") && !doc["days"].is_null();
    const bool has_dom = doc.contains("days_of_month") && !doc["days_of_month"].is_null();
    if (has_days && has_dom) {
      problems.Add("days_of_month", "use either days or days_of_month, not both");
      return;
    }
    if (has_days) {
      Json days = doc["days"];
      if (days.is_string()) days = Json::array({days});
      if (!days.is_array() || days.empty()) {
        problems.Add("days", "must be a list of days such as [mon, wed, fri] or [mon-fri]");
        return;
      }
      std::string items;
      for (size_t i = 0; i < days.size(); ++i) {
        std::optional<std::string> item;
        if (days[i].is_string()) item = DayItem(days[i].get<std::string>());
        if (!item) {
          problems.Add(Indexed("days", i),
                       "is not a day: use mon, tue, wed, thu, fri, sat, sun or a range mon-fri");
          continue;
        }
        if (*item == "*") {
          items = "*";
          break;
        }
        items += (items.empty() ? "" : ",") + *item;
      }
      if (!items.empty()) *dow = items;
    }
    if (has_dom) {
      const Json& days = doc["days_of_month"];
      if (!days.is_array() || days.empty()) {
        problems.Add("days_of_month", "must be a list such as [1, 15, last]");
        return;
      }
      std::string items;
      for (size_t i = 0; i < days.size(); ++i) {
        const Json& d = days[i];
        std::string item;
        if (d.is_number_integer() && d.get<int64_t>() >= 1 && d.get<int64_t>() <= 31) {
          item = std::to_string(d.get<int64_t>());
        } else if (d.is_string() &&
                   (d.get<std::string>() == "last" || d.get<std::string>() == "L")) {
          item = "L";
        } else if (int n = 0; d.is_string() &&
                              Digits(d.get<std::string>(), 0, d.get<std::string>().size(), &n) &&
                              d.get<std::string>().size() <= 2 && n >= 1 && n <= 31) {
          item = std::to_string(n);  // "15" as a string, as a form may send it
        } else {
          problems.Add(Indexed("days_of_month", i), "must be a day of the month 1-31 or last");
          continue;
        }
        items += (items.empty() ? "" : ",") + item;
      }
      if (!items.empty()) *dom = items;
    }
  };

  auto add_cron = [&](const std::string& text, const char* path) -> bool {
    auto c = CronExpr::Parse(text);
    if (!c) {
      problems.Add(path, c.error().message);
      return false;
    }
    plan->crons.push_back(std::move(*c));
    return true;
  };

  std::string description;
  bool show_zone = true;  // wall-clock schedules name their zone (unless UTC)
  switch (s.kind) {
    case ScheduleKind::kPredefined: {
      if (kind.empty()) break;
      every_duration(&s.every);
      if (!doc.contains("every") || doc["every"].is_null()) {
        problems.Add("every", std::string("is required: ") + kPredefinedList);
        break;
      }
      if (!s.every) break;
      const int64_t ms = s.every->count();
      const bool listed =
          ms % 60000 == 0 && std::find(kPredefinedMinutes.begin(), kPredefinedMinutes.end(),
                                       ms / 60000) != kPredefinedMinutes.end();
      if (!listed) {
        problems.Add("every", "\"" + doc["every"].get<std::string>() + "\" is not one of " +
                                  kPredefinedList +
                                  " (use kind custom or cron for other intervals)");
        break;
      }
      const int64_t minutes = ms / 60000;
      if (minutes < 1440) {
        plan->type = Plan::Type::kElapsed;
        plan->every_ms = ms;
        if (s.start) plan->anchor_ms = ToUnixMs(*s.start);
        if (minutes == 1)
          description = "Every minute";
        else if (minutes < 60)
          description = "Every " + std::to_string(minutes) + " minutes";
        else if (minutes == 60)
          description = "Every hour";
        else
          description = "Every " + std::to_string(minutes / 60) + " hours";
        show_zone = s.start || s.end;  // elapsed time: the zone matters only for the bounds
        break;
      }
      // 1d, 1w: the wall-clock time of start (00:00 without), fixed-time rules.
      int tod = 0;
      int weekday = 1;  // Monday
      if (start_wall) {
        const LocalSeconds w = WallOf(*start_wall, tz);
        const int64_t day = civil::FloorDiv(w, civil::kSecondsPerDay);
        tod = static_cast<int>(w - day * civil::kSecondsPerDay);
        weekday = civil::WeekdayFromDays(day);
      }
      char text[64];
      std::snprintf(text, sizeof text, "%d %d %d * * %s", tod % 60, tod / 60 % 60, tod / 3600,
                    minutes == 1440 ? "*" : std::to_string(weekday).c_str());
      plan->type = Plan::Type::kWallClock;
      add_cron(text, "every");
      static const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                    "Thursday", "Friday", "Saturday"};
      description = minutes == 1440 ? "Every day at " + civil::FormatTimeOfDay(tod)
                                    : std::string("Every week on ") + kDays[weekday] + " at " +
                                          civil::FormatTimeOfDay(tod);
      break;
    }
    case ScheduleKind::kOnce: {
      if (kind.empty()) break;
      if (!str("at", &s.at)) {
        if (!doc.contains("at") || doc["at"].is_null())
          problems.Add("at", "is required (such as 2026-12-24T18:00:00)");
        break;
      }
      auto w = ParseWallTime(s.at);
      if (!w) {
        problems.Add("at", "\"" + s.at + "\" is not a date-time (use 2026-12-24T18:00:00)");
        break;
      }
      s.once_at = Resolve(*w, tz);
      plan->type = Plan::Type::kOnce;
      plan->once_ms = ToUnixMs(*s.once_at);
      description = "Once at " + civil::FormatWallTime(WallOf(*w, tz));
      break;
    }
    case ScheduleKind::kCron: {
      if (kind.empty()) break;
      if (!str("cron", &s.cron)) {
        if (!doc.contains("cron") || doc["cron"].is_null())
          problems.Add("cron", "is required (such as \"0 9 * * MON-FRI\")");
        break;
      }
      plan->type = Plan::Type::kWallClock;
      if (add_cron(s.cron, "cron")) description = plan->crons[0].Describe();
      break;
    }
    case ScheduleKind::kCustom: {
      if (kind.empty()) break;
      std::string dom, dow;
      day_fields(&dom, &dow);
      const bool has_times = doc.contains("times") && !doc["times"].is_null();
      const bool has_every = doc.contains("every") && !doc["every"].is_null();
      if (has_times == has_every) {
        problems.Add(has_times ? "every" : "times",
                     has_times ? "use either times or every with between, not both"
                               : "is required: a list of times such as [\"09:00\", \"17:30\"], or "
                                 "every with between");
        break;
      }
      const std::string day_text = "* * * " + dom + " * " + dow;
      auto day_filter = CronExpr::Parse(day_text);
      if (!day_filter) break;  // the day problems are already reported
      const std::string on_days = DescribeDays(*day_filter);
      if (has_times) {
        const Json& times = doc["times"];
        if (!times.is_array() || times.empty()) {
          problems.Add("times", "must be a list of times such as [\"09:00\", \"17:30\"]");
          break;
        }
        std::vector<int> tods;
        for (size_t i = 0; i < times.size(); ++i) {
          std::optional<int> tod;
          if (times[i].is_string()) tod = ParseTimeOfDay(times[i].get<std::string>());
          if (!tod) {
            problems.Add(Indexed("times", i), "is not a time of day HH:MM (00:00 to 23:59)");
            continue;
          }
          if (std::find(tods.begin(), tods.end(), *tod) == tods.end()) tods.push_back(*tod);
        }
        std::sort(tods.begin(), tods.end());
        plan->type = Plan::Type::kWallClock;
        for (int tod : tods) {
          add_cron(std::to_string(tod % 60) + " " + std::to_string(tod / 60 % 60) + " " +
                       std::to_string(tod / 3600) + " " + dom + " * " + dow,
                   "times");
        }
        std::vector<std::string> names;
        for (int tod : tods) names.push_back(civil::FormatTimeOfDay(tod));
        description = "At " + JoinEnglish(names) + (on_days.empty() ? " every day" : " " + on_days);
      } else {
        every_duration(&s.every);
        if (!s.every) break;
        const int64_t ms = s.every->count();
        if (ms % 1000 != 0 || ms >= 86400000) {
          problems.Add("every", "must be whole seconds and less than a day (such as 30m)");
          break;
        }
        int from = 0, to = 86399;
        if (doc.contains("between") && !doc["between"].is_null()) {
          const Json& b = doc["between"];
          if (!b.is_array() || b.size() != 2) {
            problems.Add("between", "must be two times such as [\"08:00\", \"18:00\"]");
            break;
          }
          std::optional<int> f, t;
          if (b[0].is_string()) f = ParseTimeOfDay(b[0].get<std::string>());
          if (b[1].is_string()) t = ParseTimeOfDay(b[1].get<std::string>());
          if (!f) problems.Add("between[0]", "is not a time of day HH:MM");
          if (!t) problems.Add("between[1]", "is not a time of day HH:MM");
          if (!f || !t) break;
          if (*t <= *f) {
            problems.Add("between[1]", "must be after between[0]");
            break;
          }
          from = *f;
          to = *t;
        }
        WindowPattern w{*day_filter, from, to, static_cast<int>(ms / 1000)};
        plan->type = Plan::Type::kWindow;
        plan->window = std::move(w);
        description = "Every " + DescribeInterval(ms / 1000);
        if (from != 0 || to != 86399) {
          description +=
              " between " + civil::FormatTimeOfDay(from) + " and " + civil::FormatTimeOfDay(to);
        }
        if (!on_days.empty()) description += " " + on_days;
      }
      break;
    }
  }

  if (!problems.list.empty()) {
    return Fail(ErrorCode::kValidation, "invalid schedule", std::move(problems.list));
  }
  if (s.start) description += ", starting " + civil::FormatWallTime(WallOf(*start_wall, tz));
  if (s.end) description += ", until " + civil::FormatWallTime(WallOf(*end_wall, tz));
  if (show_zone) description += ZoneSuffix(tz);
  plan->description = std::move(description);
  if (s.start) plan->start_ms = ToUnixMs(*s.start);
  if (s.end) plan->end_ms = ToUnixMs(*s.end);
  s.plan = std::move(plan);
  return s;
}

Result<Schedule> MakeCronSchedule(std::string_view expr, std::string_view timezone) {
  Json doc = {{"kind", "cron"}, {"cron", std::string(expr)}, {"timezone", std::string(timezone)}};
  return ParseSchedule(doc, timezone);
}

std::optional<TimePoint> NextFireTime(const Schedule& schedule, TimePoint after) {
  const Plan* plan = schedule.plan.get();
  if (plan == nullptr) return std::nullopt;
  int64_t lower = ToUnixMs(after);
  if (plan->start_ms && *plan->start_ms - 1 > lower) lower = *plan->start_ms - 1;
  auto next = plan->Next(lower);
  if (!next || (plan->end_ms && *next > *plan->end_ms)) return std::nullopt;
  return FromUnixMs(*next);
}

std::vector<TimePoint> NextFireTimes(const Schedule& schedule, TimePoint after, size_t count) {
  std::vector<TimePoint> out;
  out.reserve(std::min<size_t>(count, 1000));
  TimePoint t = after;
  while (out.size() < count) {
    auto next = NextFireTime(schedule, t);
    if (!next) break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

std::string DescribeSchedule(const Schedule& schedule) {
  return schedule.plan ? schedule.plan->description : std::string();
}

Json SchedulePreview(const Schedule& schedule, TimePoint after, size_t count) {
  Json next = Json::array();
  for (TimePoint t : NextFireTimes(schedule, after, count)) {
    next.push_back(FormatInScheduleZone(schedule, t));
  }
  return Json{{"next", std::move(next)}, {"description", DescribeSchedule(schedule)}};
}

std::string FormatInScheduleZone(const Schedule& schedule, TimePoint t) {
  return schedule.plan ? schedule.plan->zone.FormatIso(t) : FormatIso(t);
}

bool OnceAtIsPast(const Schedule& schedule, TimePoint now) {
  return schedule.kind == ScheduleKind::kOnce && schedule.once_at && *schedule.once_at <= now;
}

std::optional<FieldError> CheckOnceNotPast(const Schedule& schedule, TimePoint now) {
  if (!OnceAtIsPast(schedule, now)) return std::nullopt;
  return FieldError{"at", "\"" + schedule.at + "\" (" + schedule.timezone + ") is in the past"};
}

std::optional<TimePoint> NextCronFire(const CronExpr& cron, const TimeZone& zone, TimePoint after) {
  auto t =
      NextWallClockFire(cron, cron.IsFixedTime(), zone, civil::FloorDiv(ToUnixMs(after), 1000));
  return t ? std::optional<TimePoint>(FromUnixMs(*t * 1000)) : std::nullopt;
}

}  // namespace weft
