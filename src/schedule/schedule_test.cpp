#include "schedule/schedule.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/time_format.h"
#include "schedule/zone.h"

namespace weft {
namespace {

using Strings = std::vector<std::string>;

Schedule Parse(const char* json, std::string_view default_tz = "UTC") {
  auto doc = ParseJson(json);
  EXPECT_TRUE(doc) << json;
  auto s = ParseSchedule(*doc, default_tz);
  EXPECT_TRUE(s) << json << ": "
                 << (s ? ""
                     : s.error().details.empty()
                         ? s.error().message
                         : s.error().details[0].path + " " + s.error().details[0].message);
  return s ? *s : Schedule{};
}

Strings Next(const Schedule& s, const char* after, size_t n) {
  Strings out;
  for (TimePoint t : NextFireTimes(s, *ParseIso(after), n)) out.push_back(FormatIso(t));
  return out;
}

std::vector<FieldError> Problems(const char* json) {
  auto s = ParseSchedule(*ParseJson(json), "UTC");
  EXPECT_FALSE(s) << json;
  if (s) return {};
  EXPECT_EQ(s.error().code, ErrorCode::kValidation);
  return s.error().details;
}

// --- predefined --------------------------------------------------------------

TEST(Predefined, SubDayIntervalsWithoutStartAreAnchoredAtLocalMidnight) {
  Schedule s = Parse(R"({"kind":"predefined","every":"15m"})");
  EXPECT_EQ(Next(s, "2026-12-01T09:07:00Z", 3),
            (Strings{"2026-12-01T09:15:00Z", "2026-12-01T09:30:00Z", "2026-12-01T09:45:00Z"}));
  // Kolkata is UTC+05:30: local midnight is :30 UTC, so hourly runs at :30 UTC.
  Schedule hourly = Parse(R"({"kind":"predefined","every":"1h","timezone":"Asia/Kolkata"})");
  EXPECT_EQ(Next(hourly, "2026-12-01T09:07:00Z", 2),
            (Strings{"2026-12-01T09:30:00Z", "2026-12-01T10:30:00Z"}));
  EXPECT_EQ(DescribeSchedule(s), "Every 15 minutes");
}

TEST(Predefined, SubDayIntervalsAreElapsedTimeFromStart) {
  Schedule s = Parse(
      R"({"kind":"predefined","every":"15m","start":"2026-12-01T09:07:00","timezone":"Europe/Berlin"})");
  EXPECT_EQ(Next(s, "2026-11-01T00:00:00Z", 2),
            (Strings{"2026-12-01T08:07:00Z", "2026-12-01T08:22:00Z"}));
  EXPECT_EQ(Next(s, "2026-12-01T08:10:00Z", 1), (Strings{"2026-12-01T08:22:00Z"}));
  // Across the spring-forward night the interval stays 2 hours of elapsed time.
  Schedule ny = Parse(
      R"({"kind":"predefined","every":"2h","start":"2027-03-13T23:00:00","timezone":"America/New_York"})");
  // 23:00 EST, 01:00 EST, then 04:00 EDT: two hours apart each.
  EXPECT_EQ(Next(ny, "2027-03-14T03:00:00Z", 3),
            (Strings{"2027-03-14T04:00:00Z", "2027-03-14T06:00:00Z", "2027-03-14T08:00:00Z"}));
  EXPECT_EQ(DescribeSchedule(s), "Every 15 minutes, starting 2026-12-01 09:07, Europe/Berlin");
}

TEST(Predefined, WithoutStartEachLocalDayRestartsAtMidnight) {
  // 2027-03-14 in New York has 23 hours: 00:00 EST, then every 2 hours of
  // elapsed time, and the next day starts again at 00:00 EDT.
  Schedule s = Parse(R"({"kind":"predefined","every":"2h","timezone":"America/New_York"})");
  EXPECT_EQ(Next(s, "2027-03-14T04:00:00Z", 2),
            (Strings{"2027-03-14T05:00:00Z", "2027-03-14T07:00:00Z"}));
  EXPECT_EQ(Next(s, "2027-03-15T02:00:00Z", 3),
            (Strings{"2027-03-15T03:00:00Z", "2027-03-15T04:00:00Z", "2027-03-15T06:00:00Z"}));
}

TEST(Predefined, OneDayKeepsTheWallClockTimeOfStartAcrossDaylightSaving) {
  Schedule s = Parse(
      R"({"kind":"predefined","every":"1d","start":"2027-03-10T02:30:00","timezone":"America/New_York"})");
  // 02:30 does not exist on 2027-03-14: it runs at the end of the gap, 03:00 EDT.
  EXPECT_EQ(Next(s, "2027-03-13T00:00:00Z", 3),
            (Strings{"2027-03-13T07:30:00Z", "2027-03-14T07:00:00Z", "2027-03-15T06:30:00Z"}));
  EXPECT_EQ(DescribeSchedule(s), "Every day at 02:30, starting 2027-03-10 02:30, America/New_York");
  Schedule fall = Parse(
      R"({"kind":"predefined","every":"1d","start":"2027-11-01T01:30:00","timezone":"America/New_York"})");
  // 01:30 happens twice on 2027-11-07: it runs at the first only.
  EXPECT_EQ(Next(fall, "2027-11-06T12:00:00Z", 3),
            (Strings{"2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z", "2027-11-09T06:30:00Z"}));
  // Never before start.
  EXPECT_EQ(Next(s, "2026-01-01T00:00:00Z", 1), (Strings{"2027-03-10T07:30:00Z"}));
}

TEST(Predefined, OneWeekRunsOnMondaysOrOnTheWeekdayOfStart) {
  Schedule monday = Parse(R"({"kind":"predefined","every":"1w"})");
  EXPECT_EQ(Next(monday, "2026-11-28T10:00:00Z", 2),
            (Strings{"2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"}));
  EXPECT_EQ(DescribeSchedule(monday), "Every week on Monday at 00:00");
  Schedule tuesday = Parse(
      R"({"kind":"predefined","every":"1w","start":"2026-12-01T09:00:00","timezone":"Europe/Berlin"})");
  EXPECT_EQ(Next(tuesday, "2026-11-28T10:00:00Z", 2),
            (Strings{"2026-12-01T08:00:00Z", "2026-12-08T08:00:00Z"}));
}

// --- once ---------------------------------------------------------------------

TEST(Once, FiresOnceAtTheWallTime) {
  Schedule s = Parse(R"({"kind":"once","at":"2026-12-24T18:00:00","timezone":"Europe/Berlin"})");
  EXPECT_EQ(Next(s, "2026-12-01T00:00:00Z", 5), (Strings{"2026-12-24T17:00:00Z"}));
  EXPECT_EQ(Next(s, "2026-12-24T17:00:00Z", 5), Strings{});
  EXPECT_EQ(DescribeSchedule(s), "Once at 2026-12-24 18:00, Europe/Berlin");
  ASSERT_TRUE(s.once_at);
  EXPECT_EQ(FormatIso(*s.once_at), "2026-12-24T17:00:00Z");
}

TEST(Once, InAGapFiresAtTheEndOfTheGapAndInAnOverlapAtTheFirst) {
  Schedule gap =
      Parse(R"({"kind":"once","at":"2027-03-14T02:30:00","timezone":"America/New_York"})");
  EXPECT_EQ(Next(gap, "2027-03-01T00:00:00Z", 2), (Strings{"2027-03-14T07:00:00Z"}));
  Schedule overlap =
      Parse(R"({"kind":"once","at":"2027-11-07T01:30:00","timezone":"America/New_York"})");
  EXPECT_EQ(Next(overlap, "2027-11-01T00:00:00Z", 2), (Strings{"2027-11-07T05:30:00Z"}));
}

TEST(Once, PastHelperComparesWithNow) {
  Schedule s = Parse(R"({"kind":"once","at":"2026-12-24T18:00:00","timezone":"Europe/Berlin"})");
  EXPECT_FALSE(OnceAtIsPast(s, *ParseIso("2026-12-24T16:59:59Z")));
  EXPECT_TRUE(OnceAtIsPast(s, *ParseIso("2026-12-24T17:00:00Z")));
  auto problem = CheckOnceNotPast(s, *ParseIso("2027-01-01T00:00:00Z"));
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->path, "at");
  EXPECT_NE(problem->message.find("in the past"), std::string::npos);
  EXPECT_FALSE(CheckOnceNotPast(s, *ParseIso("2026-01-01T00:00:00Z")));
  Schedule cron = Parse(R"({"kind":"cron","cron":"* * * * *"})");
  EXPECT_FALSE(OnceAtIsPast(cron, *ParseIso("2030-01-01T00:00:00Z")));
}

// --- custom -------------------------------------------------------------------

TEST(Custom, DaysAndTimesAreTheCronTheyReadAs) {
  Schedule s = Parse(
      R"({"kind":"custom","days":["mon","wed","fri"],"times":["17:30","09:00"],"timezone":"Europe/Berlin"})");
  EXPECT_EQ(DescribeSchedule(s),
            "At 09:00 and 17:30 on Monday, Wednesday and Friday, Europe/Berlin");
  auto a = MakeCronSchedule("0 9 * * 1,3,5", "Europe/Berlin");
  auto b = MakeCronSchedule("30 17 * * 1,3,5", "Europe/Berlin");
  ASSERT_TRUE(a && b);
  TimePoint t = *ParseIso("2027-03-20T00:00:00Z");  // across the end of March DST change
  for (int i = 0; i < 20; ++i) {
    auto got = NextFireTime(s, t);
    auto x = NextFireTime(*a, t), y = NextFireTime(*b, t);
    ASSERT_TRUE(got && x && y);
    EXPECT_EQ(*got, std::min(*x, *y));
    t = *got;
  }
}

TEST(Custom, TimesInAGapOrOverlapFollowTheFixedTimeRules) {
  Schedule s = Parse(
      R"({"kind":"custom","days":["sun"],"times":["02:30","01:30"],"timezone":"America/New_York"})");
  // 2027-03-14 (a Sunday): 01:30 EST, 02:30 is in the gap so it runs at 03:00 EDT.
  EXPECT_EQ(Next(s, "2027-03-14T00:00:00Z", 2),
            (Strings{"2027-03-14T06:30:00Z", "2027-03-14T07:00:00Z"}));
  // 2027-11-07 (a Sunday): 01:30 happens twice and runs once.
  EXPECT_EQ(Next(s, "2027-11-07T00:00:00Z", 2),
            (Strings{"2027-11-07T05:30:00Z", "2027-11-07T07:30:00Z"}));
}

TEST(Custom, EveryBetweenIsAnIntervalJobWithinThoseHours) {
  Schedule s = Parse(
      R"({"kind":"custom","every":"30m","between":["08:00","18:00"],"days":["mon-fri"],"timezone":"Europe/Berlin"})");
  EXPECT_EQ(DescribeSchedule(s),
            "Every 30 minutes between 08:00 and 18:00 on Monday through Friday, Europe/Berlin");
  // Monday 2026-11-30: 08:00 ... 18:00 CET inclusive, then Tuesday 08:00.
  Strings day = Next(s, "2026-11-29T12:00:00Z", 22);
  ASSERT_EQ(day.size(), 22u);
  EXPECT_EQ(day.front(), "2026-11-30T07:00:00Z");
  EXPECT_EQ(day[20], "2026-11-30T17:00:00Z");
  EXPECT_EQ(day[21], "2026-12-01T07:00:00Z");
  // Saturday and Sunday are skipped.
  EXPECT_EQ(Next(s, "2026-12-04T17:00:00Z", 1), (Strings{"2026-12-07T07:00:00Z"}));
}

TEST(Custom, EveryBetweenSkipsTheGapAndRepeatsTheOverlap) {
  Schedule s = Parse(
      R"({"kind":"custom","every":"30m","between":["01:00","03:00"],"timezone":"America/New_York"})");
  EXPECT_EQ(Next(s, "2027-03-14T05:30:00Z", 4),
            (Strings{"2027-03-14T06:00:00Z", "2027-03-14T06:30:00Z", "2027-03-14T07:00:00Z",
                     "2027-03-15T05:00:00Z"}));
  EXPECT_EQ(Next(s, "2027-11-07T04:30:00Z", 7),
            (Strings{"2027-11-07T05:00:00Z", "2027-11-07T05:30:00Z", "2027-11-07T06:00:00Z",
                     "2027-11-07T06:30:00Z", "2027-11-07T07:00:00Z", "2027-11-07T07:30:00Z",
                     "2027-11-07T08:00:00Z"}));
}

TEST(Custom, DaysOfMonthWithLast) {
  Schedule s = Parse(R"({"kind":"custom","days_of_month":[1,15,"last"],"times":["02:00"]})");
  EXPECT_EQ(Next(s, "2026-02-10T00:00:00Z", 3),
            (Strings{"2026-02-15T02:00:00Z", "2026-02-28T02:00:00Z", "2026-03-01T02:00:00Z"}));
  EXPECT_EQ(DescribeSchedule(s),
            "At 02:00 on days 1 and 15 of the month and the last day of the month");
  Json all_days = Json::array();
  for (int d = 1; d <= 31; ++d) all_days.push_back(d);
  all_days.push_back("last");
  auto every_day = ParseSchedule(
      Json{{"kind", "custom"}, {"days_of_month", all_days}, {"times", {"09:00", "18:00"}}});
  ASSERT_TRUE(every_day);
  EXPECT_EQ(Next(*every_day, "2026-02-28T10:00:00Z", 2),
            (Strings{"2026-02-28T18:00:00Z", "2026-03-01T09:00:00Z"}));
  auto text_days = ParseSchedule(
      Json{{"kind", "custom"}, {"days_of_month", {"15", "last"}}, {"times", {"09:00"}}});
  ASSERT_TRUE(text_days);
  EXPECT_EQ(Next(*text_days, "2026-02-01T00:00:00Z", 2),
            (Strings{"2026-02-15T09:00:00Z", "2026-02-28T09:00:00Z"}));
}

// --- cron, bounds, zones ----------------------------------------------------------

TEST(Cron, DescriptionsNameTheZone) {
  EXPECT_EQ(DescribeSchedule(Parse(R"({"kind":"cron","cron":"0 2 LW * *"})")),
            "At 02:00 on the last weekday of the month");
  EXPECT_EQ(DescribeSchedule(
                Parse(R"({"kind":"cron","cron":"0 9 * * MON,FRI","timezone":"Europe/Berlin"})")),
            "At 09:00 on Monday and Friday, Europe/Berlin");
  EXPECT_EQ(DescribeSchedule(Parse(R"({"kind":"cron","cron":"*/15 * * * *"})")),
            "Every 15 minutes");
}

TEST(Cron, MidnightInSantiagoRunsAtTheEndOfTheGap) {
  // 2027-09-05 00:00 does not exist in Santiago (clocks go from 24:00 to 01:00).
  Schedule s = Parse(R"({"kind":"cron","cron":"0 0 * * *","timezone":"America/Santiago"})");
  EXPECT_EQ(Next(s, "2027-09-03T12:00:00Z", 3),
            (Strings{"2027-09-04T04:00:00Z", "2027-09-05T04:00:00Z", "2027-09-06T03:00:00Z"}));
}

TEST(Bounds, NeverBeforeStartNeverAfterEnd) {
  Schedule s = Parse(
      R"({"kind":"cron","cron":"0 * * * *","start":"2026-12-01T09:30:00","end":"2026-12-01T12:00:00"})");
  EXPECT_EQ(Next(s, "2026-01-01T00:00:00Z", 10),
            (Strings{"2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z", "2026-12-01T12:00:00Z"}));
  EXPECT_FALSE(NextFireTime(s, *ParseIso("2026-12-01T12:00:00Z")));
  // A start exactly on a fire time includes it; results stay strictly after `after`.
  Schedule exact = Parse(R"({"kind":"cron","cron":"0 * * * *","start":"2026-12-01T10:00:00"})");
  EXPECT_EQ(Next(exact, "2026-12-01T08:00:00Z", 1), (Strings{"2026-12-01T10:00:00Z"}));
  EXPECT_EQ(Next(exact, "2026-12-01T10:00:00Z", 1), (Strings{"2026-12-01T11:00:00Z"}));
  // start with an explicit offset is an instant.
  Schedule offset =
      Parse(R"({"kind":"cron","cron":"0 * * * *","start":"2026-12-01T10:00:00+01:00"})");
  EXPECT_EQ(Next(offset, "2026-12-01T00:00:00Z", 1), (Strings{"2026-12-01T09:00:00Z"}));
}

TEST(Zones, FormatWithTheZoneOffset) {
  Schedule s = Parse(R"({"kind":"cron","cron":"0 9 * * *","timezone":"Europe/Berlin"})");
  EXPECT_EQ(FormatInScheduleZone(s, *ParseIso("2026-12-01T08:00:00Z")),
            "2026-12-01T09:00:00+01:00");
  EXPECT_EQ(FormatInScheduleZone(s, *ParseIso("2026-07-01T07:00:00Z")),
            "2026-07-01T09:00:00+02:00");
  EXPECT_EQ(*FormatIsoInZone(*ParseIso("2026-12-01T08:00:00Z"), "Pacific/Chatham"),
            "2026-12-01T21:45:00+13:45");
  EXPECT_EQ(*FormatIsoInZone(*ParseIso("2026-12-01T08:00:00Z"), "America/New_York"),
            "2026-12-01T03:00:00-05:00");
  EXPECT_EQ(*FormatIsoInZone(*ParseIso("2026-12-01T08:00:00Z"), "UTC"),
            "2026-12-01T08:00:00+00:00");
  EXPECT_TRUE(IsValidTimeZone("Australia/Lord_Howe"));
  EXPECT_TRUE(IsValidTimeZone("UTC"));
  EXPECT_FALSE(IsValidTimeZone("Mars/Olympus_Mons"));
  EXPECT_FALSE(IsValidTimeZone(""));
}

TEST(Zones, PreviewBody) {
  Schedule s = Parse(
      R"({"kind":"custom","days":["mon","fri"],"times":["09:00"],"timezone":"Europe/Berlin"})");
  Json body = SchedulePreview(s, *ParseIso("2026-11-28T00:00:00Z"), 3);
  EXPECT_EQ(
      body.dump(),
      R"({"next":["2026-11-30T09:00:00+01:00","2026-12-04T09:00:00+01:00",)"
      R"("2026-12-07T09:00:00+01:00"],"description":"At 09:00 on Monday and Friday, Europe/Berlin"})");
}

TEST(Zones, TheCallerGivesTheDefaultZone) {
  Schedule s = Parse(R"({"kind":"cron","cron":"0 9 * * *"})", "Europe/Berlin");
  EXPECT_EQ(s.timezone, "Europe/Berlin");
  EXPECT_EQ(Next(s, "2026-12-01T00:00:00Z", 1), (Strings{"2026-12-01T08:00:00Z"}));
}

// --- validation -------------------------------------------------------------------

TEST(Validation, EveryProblemWithItsPath) {
  auto p = Problems(
      R"({"kind":"cron","cron":"60 * * * *","timezone":"Mars/Olympus","misfire":"sometimes","overlap":"never"})");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].path, "timezone");
  EXPECT_EQ(p[1].path, "misfire");
  EXPECT_EQ(p[2].path, "overlap");
  EXPECT_EQ(p[3], (FieldError{"cron", "minute 60 is out of range 0-59"}));
}

TEST(Validation, Messages) {
  EXPECT_EQ(Problems(R"({"cron":"* * * * *"})")[0].path, "kind");
  EXPECT_EQ(Problems(R"({"kind":"weekly"})")[0].path, "kind");
  EXPECT_EQ(Problems(R"({"kind":"cron"})")[0].path, "cron");
  EXPECT_EQ(Problems(R"({"kind":"cron","cron":"* * *"})")[0].path, "cron");
  auto end = Problems(
      R"({"kind":"cron","cron":"* * * * *","start":"2026-12-02T00:00:00","end":"2026-12-01T00:00:00"})");
  EXPECT_EQ(end[0], (FieldError{"end", "is before start"}));
  EXPECT_EQ(Problems(R"({"kind":"cron","cron":"* * * * *","start":"tomorrow"})")[0].path, "start");
  EXPECT_EQ(Problems(R"({"kind":"predefined","every":"7m"})")[0].path, "every");
  EXPECT_EQ(Problems(R"({"kind":"predefined"})")[0].path, "every");
  EXPECT_EQ(Problems(R"({"kind":"once"})")[0].path, "at");
  EXPECT_EQ(Problems(R"({"kind":"once","at":"2026-02-30T10:00:00"})")[0].path, "at");
  auto times = Problems(R"({"kind":"custom","times":["09:00","25:00"],"days":["mon","funday"]})");
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[0].path, "days[1]");
  EXPECT_EQ(times[1].path, "times[1]");
  EXPECT_EQ(Problems(R"({"kind":"custom","every":"30m","between":["18:00","08:00"]})")[0].path,
            "between[1]");
  EXPECT_EQ(Problems(R"({"kind":"custom","days":["mon"]})")[0].path, "times");
  EXPECT_EQ(Problems(R"({"kind":"custom","times":["09:00"],"days_of_month":[0]})")[0].path,
            "days_of_month[0]");
  EXPECT_EQ(Problems(R"([1,2])")[0].path, "");
}

TEST(Validation, DefaultsAndEnums) {
  Schedule s = Parse(R"({"kind":"cron","cron":"@daily"})");
  EXPECT_EQ(s.kind, ScheduleKind::kCron);
  EXPECT_EQ(s.timezone, "UTC");
  EXPECT_EQ(s.misfire, Misfire::kRunOnce);
  EXPECT_EQ(s.overlap, Overlap::kAllow);
  EXPECT_FALSE(s.start);
  EXPECT_FALSE(s.end);
  Schedule t =
      Parse(R"({"kind":"cron","cron":"@daily","misfire":"skip","overlap":"queue","end":null})");
  EXPECT_EQ(t.misfire, Misfire::kSkip);
  EXPECT_EQ(t.overlap, Overlap::kQueue);
  EXPECT_EQ(MisfireName(t.misfire), "skip");
  EXPECT_EQ(OverlapName(t.overlap), "queue");
  EXPECT_EQ(ScheduleKindName(t.kind), "cron");
}

TEST(ThreadSafety, ConcurrentCallersAgree) {
  Schedule s = Parse(R"({"kind":"cron","cron":"*/7 * * * *","timezone":"Australia/Lord_Howe"})");
  const Strings want = Next(s, "2026-10-03T14:00:00Z", 200);
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Schedule copy = s;
      for (int k = 0; k < 20; ++k) ok[i] += Next(copy, "2026-10-03T14:00:00Z", 200) == want;
    });
  }
  for (auto& t : threads) t.join();
  for (int v : ok) EXPECT_EQ(v, 20);
}

TEST(ThreadSafety, ConcurrentParsesOfZonesNotYetLoaded) {
  const char* zones[] = {"Asia/Tokyo",   "America/Chicago",   "Europe/Paris",
                         "Africa/Cairo", "America/Sao_Paulo", "Australia/Adelaide"};
  std::vector<std::thread> threads;
  std::vector<std::string> got(12);
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      Json doc = {{"kind", "cron"}, {"cron", "0 9 * * *"}, {"timezone", zones[i % 6]}};
      auto s = ParseSchedule(doc, "UTC");
      if (!s) return;
      auto next = NextFireTime(*s, *ParseIso("2026-12-01T00:00:00Z"));
      if (next) got[i] = FormatInScheduleZone(*s, *next);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(got[i], got[i % 6]) << zones[i % 6];
    EXPECT_NE(got[i].find("T09:00:00"), std::string::npos) << got[i];
  }
}

}  // namespace
}  // namespace weft
