#include "schedule/cron.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>

#include "common/json.h"
#include "common/time_format.h"
#include "schedule/next_fire.h"
#include "schedule/schedule.h"
#include "schedule/zone.h"

namespace weft {
namespace {

std::string Shared(const std::string& rel) { return std::string(WEFT_SHARED_DIR) + "/" + rel; }

TEST(CronReference, EveryPublicCaseMatches) {
  std::ifstream in(Shared("testdata/cron/public.jsonl"));
  ASSERT_TRUE(in) << "cannot open " << Shared("testdata/cron/public.jsonl");
  std::string line;
  int cases = 0, failures = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++cases;
    auto doc = ParseJson(line);
    ASSERT_TRUE(doc) << line;
    const std::string expr = (*doc)["expr"], tz = (*doc)["tz"], from = (*doc)["from"];
    auto schedule = MakeCronSchedule(expr, tz);
    std::string got;
    if (!schedule) {
      got = "error: " + schedule.error().message +
            (schedule.error().details.empty() ? "" : " " + schedule.error().details[0].message);
    } else {
      auto after = ParseIso(from);
      ASSERT_TRUE(after) << from;
      for (TimePoint t : NextFireTimes(*schedule, *after, 8)) got += FormatIso(t) + " ";
    }
    std::string want;
    for (const auto& t : (*doc)["next"]) want += t.get<std::string>() + " ";
    if (got != want) {
      if (++failures <= 10) {
        ADD_FAILURE() << expr << " in " << tz << " from " << from << "\n  want " << want
                      << "\n  got  " << got;
      }
    }
  }
  EXPECT_EQ(cases, 5129);
  EXPECT_EQ(failures, 0) << failures << " of " << cases << " cases differ";
}

TEST(CronReference, EveryInvalidExpressionIsRefused) {
  std::ifstream in(Shared("testdata/cron/invalid.txt"));
  ASSERT_TRUE(in);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto text = ParseJson(line);
    ASSERT_TRUE(text && text->is_string()) << line;
    ++count;
    auto cron = CronExpr::Parse(text->get<std::string>());
    EXPECT_FALSE(cron) << "accepted " << line;
    if (!cron) {
      EXPECT_FALSE(cron.error().message.empty());
    }
  }
  EXPECT_EQ(count, 50);
}

std::string ErrorOf(std::string_view expr) {
  auto c = CronExpr::Parse(expr);
  return c ? "ok" : c.error().message;
}

TEST(Cron, ErrorsNameTheFieldAndTheProblem) {
  EXPECT_EQ(ErrorOf("60 * * * *"), "minute 60 is out of range 0-59");
  EXPECT_EQ(ErrorOf("* 24 * * *"), "hour 24 is out of range 0-23");
  EXPECT_EQ(ErrorOf("0 0 32 * *"), "day-of-month 32 is out of range 1-31");
  EXPECT_EQ(ErrorOf("0 0 * 13 *"), "month 13 is out of range 1-12");
  EXPECT_EQ(ErrorOf("0 0 * * 8"), "day-of-week 8 is out of range 0-7");
  EXPECT_EQ(ErrorOf("60 * * * * *"), "second 60 is out of range 0-59");
  EXPECT_EQ(ErrorOf("*/0 * * * *"), "minute: step 0 is out of range 1-60");
  EXPECT_EQ(ErrorOf("5-1 * * * *"), "minute: range 5-1 is reversed");
  EXPECT_EQ(ErrorOf("0 0 * * MON-FOO"), "day-of-week: unknown name \"FOO\" (use SUN-SAT or 0-7)");
  EXPECT_EQ(ErrorOf("0 0 * * 1#6"), "day-of-week: in \"1#6\" the number after # must be 1-5");
  EXPECT_NE(ErrorOf("* * *").find("got 3"), std::string::npos);
  EXPECT_NE(ErrorOf("@reboot").find("unknown macro"), std::string::npos);
}

TEST(Cron, FixedTimeMeansOnePlainValueInSecondMinuteAndHour) {
  EXPECT_TRUE(CronExpr::Parse("30 2 * * *")->IsFixedTime());
  EXPECT_TRUE(CronExpr::Parse("0 30 2 * * *")->IsFixedTime());
  EXPECT_TRUE(CronExpr::Parse("@daily")->IsFixedTime());
  EXPECT_FALSE(CronExpr::Parse("@hourly")->IsFixedTime());
  EXPECT_FALSE(CronExpr::Parse("30 1,2 * * *")->IsFixedTime());
  EXPECT_FALSE(CronExpr::Parse("15,45 0 * * * *")->IsFixedTime());
  EXPECT_FALSE(CronExpr::Parse("0 0-0 * * *")->IsFixedTime());
}

std::vector<std::string> Next(std::string_view expr, std::string_view tz, std::string_view from,
                              int n) {
  auto s = MakeCronSchedule(expr, tz);
  EXPECT_TRUE(s) << expr;
  std::vector<std::string> out;
  if (!s) return out;
  for (TimePoint t : NextFireTimes(*s, *ParseIso(from), n)) out.push_back(FormatIso(t));
  return out;
}

TEST(Cron, NewYorkExamplesOfSchedulingMd) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Next("30 2 * * *", "America/New_York", "2027-03-13T06:00:00Z", 3),
            (V{"2027-03-13T07:30:00Z", "2027-03-14T07:00:00Z", "2027-03-15T06:30:00Z"}));
  EXPECT_EQ(Next("30 1 * * *", "America/New_York", "2027-11-07T03:00:00Z", 2),
            (V{"2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"}));
  EXPECT_EQ(Next("*/15 * * * *", "America/New_York", "2027-11-07T05:40:00Z", 3),
            (V{"2027-11-07T05:45:00Z", "2027-11-07T06:00:00Z", "2027-11-07T06:15:00Z"}));
  EXPECT_EQ(Next("0 */2 * * *", "America/New_York", "2027-03-14T04:30:00Z", 2),
            (V{"2027-03-14T05:00:00Z", "2027-03-14T08:00:00Z"}));
}

TEST(Cron, RareExpressionsAreFoundWithoutScanning) {
  // 30 February never exists: the search gives up after 400 years, quickly.
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Next("0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", 1).empty());
  EXPECT_EQ(Next("0 0 29 2 *", "Europe/Berlin", "2097-01-01T00:00:00Z", 1),
            (std::vector<std::string>{"2104-02-28T23:00:00Z"}));
  EXPECT_EQ(Next("59 59 23 31 12 *", "UTC", "2026-06-01T00:00:00Z", 1),
            (std::vector<std::string>{"2026-12-31T23:59:59Z"}));
  // Behaviour only, no time assertion: the run above is a handful of steps.
  (void)start;
}

TEST(Cron, Descriptions) {
  auto d = [](std::string_view e) { return CronExpr::Parse(e)->Describe(); };
  EXPECT_EQ(d("*/15 * * * *"), "Every 15 minutes");
  EXPECT_EQ(d("* * * * *"), "Every minute");
  EXPECT_EQ(d("*/10 * * * * *"), "Every 10 seconds");
  EXPECT_EQ(d("0 * * * *"), "Every hour");
  EXPECT_EQ(d("0 */2 * * *"), "Every 2 hours");
  EXPECT_EQ(d("0 2 * * *"), "At 02:00 every day");
  EXPECT_EQ(d("0 2 LW * *"), "At 02:00 on the last weekday of the month");
  EXPECT_EQ(d("0,30 9,17 * * 1,3,5"),
            "At 09:00, 09:30, 17:00 and 17:30 on Monday, Wednesday and Friday");
  EXPECT_EQ(d("0 9-17 * * MON-FRI"),
            "At minute 0 past the hour, between 09:00 and 17:59 on Monday through Friday");
  EXPECT_EQ(d("0 0 13 * FRI"), "At 00:00 on day 13 of the month or on Friday");
  EXPECT_EQ(d("0 0 * * 5L"), "At 00:00 on the last Friday of the month");
  EXPECT_EQ(d("0 0 * * MON#2"), "At 00:00 on the second Monday of the month");
  EXPECT_EQ(d("0 0 1 JAN-MAR *"), "At 00:00 on day 1 of the month in January through March");
  EXPECT_EQ(d("*/30 0-3 * * *"), "Every 30 minutes, between 00:00 and 03:59");
}

}  // namespace
}  // namespace weft
