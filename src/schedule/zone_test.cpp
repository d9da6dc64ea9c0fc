#include "schedule/zone.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "common/time_format.h"
#include "schedule/next_fire.h"
#include "schedule/posix_tz.h"
#include "schedule/schedule.h"

namespace weft {
namespace {

constexpr const char* kZones[] = {"America/New_York",    "Europe/London",    "Europe/Berlin",
                                  "Australia/Lord_Howe", "Pacific/Chatham",  "America/Santiago",
                                  "Asia/Kolkata",        "America/St_Johns", "Australia/Sydney"};

std::string Footer(const std::string& name) {
  std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t nl = data.rfind('\n', data.size() - 2);
  return data.substr(nl + 1, data.size() - nl - 2);
}

int64_t Unix(const char* iso) { return ToUnixMs(*ParseIso(iso)) / 1000; }

// The footer rule must reproduce tzdata's listed transitions where both exist,
// since it is what applies after them.
TEST(PosixTz, FooterRuleMatchesTheListedTransitions2026To2037) {
  for (const char* name : kZones) {
    auto rule = PosixTz::Parse(Footer(name));
    ASSERT_TRUE(rule) << name << ": " << Footer(name);
    auto zone = TimeZone::Find(name);
    ASSERT_TRUE(zone);
    for (int64_t t = Unix("2026-01-01T00:00:00Z"); t < Unix("2037-06-01T00:00:00Z");
         t += 3 * 3600) {
      const TimeZone::Period want = zone->PeriodAt(t);
      const PosixTz::Period got = rule->PeriodAt(t);
      ASSERT_EQ(got.offset, want.offset) << name << " at " << FormatIso(FromUnixMs(t * 1000));
      if (rule->has_dst()) {
        ASSERT_EQ(got.end, want.end) << name << " at " << FormatIso(FromUnixMs(t * 1000));
      }
    }
  }
}

TEST(PosixTz, ParsesTheForms) {
  EXPECT_TRUE(PosixTz::Parse("EST5EDT,M3.2.0,M11.1.0"));
  EXPECT_TRUE(PosixTz::Parse("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45"));
  EXPECT_TRUE(PosixTz::Parse("<-04>4<-03>,M9.1.6/24,M4.1.6/24"));
  EXPECT_TRUE(PosixTz::Parse("IST-5:30"));
  EXPECT_TRUE(PosixTz::Parse("XXX3YYY,J60/2,300/-1"));
  EXPECT_FALSE(PosixTz::Parse(""));
  EXPECT_FALSE(PosixTz::Parse("EST"));
  EXPECT_FALSE(PosixTz::Parse("EST5EDT,M13.2.0,M11.1.0"));
}

TEST(Zones, DaylightSavingContinuesAfter2037) {
  EXPECT_EQ(*FormatIsoInZone(*ParseIso("2040-07-01T12:00:00Z"), "America/New_York"),
            "2040-07-01T08:00:00-04:00");
  EXPECT_EQ(*FormatIsoInZone(*ParseIso("2040-01-01T12:00:00Z"), "America/New_York"),
            "2040-01-01T07:00:00-05:00");
  EXPECT_EQ(*FormatIsoInZone(*ParseIso("2060-01-15T00:00:00Z"), "Pacific/Chatham"),
            "2060-01-15T13:45:00+13:45");
  // 2040-03-11 02:30 does not exist in New York: the end of the gap, as before 2038.
  auto s = MakeCronSchedule("30 2 * * *", "America/New_York");
  ASSERT_TRUE(s);
  std::vector<std::string> got;
  for (TimePoint t : NextFireTimes(*s, *ParseIso("2040-03-10T00:00:00Z"), 3))
    got.push_back(FormatIso(t));
  EXPECT_EQ(got, (std::vector<std::string>{"2040-03-10T07:30:00Z", "2040-03-11T07:00:00Z",
                                           "2040-03-12T06:30:00Z"}));
  // 2040-11-04 01:30 happens twice: once for a fixed-time job.
  got.clear();
  for (TimePoint t : NextFireTimes(*s, *ParseIso("2040-11-03T00:00:00Z"), 2))
    got.push_back(FormatIso(t));
  EXPECT_EQ(got, (std::vector<std::string>{"2040-11-03T06:30:00Z", "2040-11-04T07:30:00Z"}));
  auto interval = MakeCronSchedule("*/30 1 * * *", "America/New_York");
  got.clear();
  for (TimePoint t : NextFireTimes(*interval, *ParseIso("2040-11-04T04:00:00Z"), 5))
    got.push_back(FormatIso(t));
  EXPECT_EQ(got, (std::vector<std::string>{"2040-11-04T05:00:00Z", "2040-11-04T05:30:00Z",
                                           "2040-11-04T06:00:00Z", "2040-11-04T06:30:00Z",
                                           "2040-11-05T06:00:00Z"}));
}

// Fixed-time jobs against a quarter-hour walk (every transition here is on a quarter hour): the
// wall time's first instant, or in a gap the first instant after it, in the years of listed
// transitions (2027) and of the footer rule (2045).
TEST(Zones, FixedTimeJobsAroundTransitionsAgreeWithAWalk) {
  int checked = 0;
  for (const char* name : kZones) {
    auto zone = TimeZone::Find(name);
    ASSERT_TRUE(zone);
    for (int year : {2027, 2045}) {
      for (int month : {3, 4, 9, 10, 11}) {
        const int64_t t0 = civil::FromCivil({year, month, 1, 0, 0, 0});
        const int64_t transition = zone->PeriodAt(t0).end;
        if (transition > t0 + 40 * 86400) continue;
        for (int minute_of_day = 0; minute_of_day < 1440; minute_of_day += 15) {
          const int h = minute_of_day / 60, m = minute_of_day % 60;
          auto cron = CronExpr::Parse(std::to_string(m) + " " + std::to_string(h) + " * * *");
          ASSERT_TRUE(cron);
          const int64_t after = transition - 36 * 3600;
          int64_t t = after;
          for (int k = 0; k < 3; ++k) {
            auto got = NextWallClockFire(*cron, true, *zone, t);
            ASSERT_TRUE(got);
            // The day of the fire, walked minute by minute.
            const CivilTime day = civil::ToCivil(zone->ToLocal(*got));
            const LocalSeconds wall = civil::FromCivil({day.year, day.month, day.day, h, m, 0});
            std::optional<int64_t> first_at, first_after;
            for (int64_t u = wall - 16 * 3600; u <= wall + 16 * 3600; u += 900) {
              const LocalSeconds l = zone->ToLocal(u);
              if (l == wall && !first_at) first_at = u;
              if (l > wall && !first_after) first_after = u;
            }
            const int64_t want = first_at ? *first_at : *first_after;
            ASSERT_EQ(*got, want) << name << " " << h << ":" << m << " after "
                                  << FormatIso(FromUnixMs(t * 1000));
            ++checked;
            t = *got;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

}  // namespace
}  // namespace weft
