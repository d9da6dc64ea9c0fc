#include "schedule/cron.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "common/json.h"
#include "common/time_format.h"
#include "schedule/next_fire.h"
#include "schedule/schedule.h"
#include "schedule/zone.h"

namespace weft {
namespace {

// The reference cases live in the repository (tests/data/cron, see its README).
std::string TestData(const std::string& rel) {
  return std::string(WEFT_SOURCE_DIR) + "/tests/data/" + rel;
}

TEST(CronReference, EveryPublicCaseMatches) {
  std::ifstream in(TestData("cron/public.jsonl"));
  ASSERT_TRUE(in) << "missing reference data: cannot open " << TestData("cron/public.jsonl");
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
  std::ifstream in(TestData("cron/invalid.txt"));
  ASSERT_TRUE(in) << "missing reference data: cannot open " << TestData("cron/invalid.txt");
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

TEST(Cron, SundayEndsARangeAndMacrosIgnoreCase) {
  EXPECT_EQ(Next("0 12 * * FRI-SUN", "UTC", "2026-11-26T00:00:00Z", 4),
            (std::vector<std::string>{"2026-11-27T12:00:00Z", "2026-11-28T12:00:00Z",
                                      "2026-11-29T12:00:00Z", "2026-12-04T12:00:00Z"}));
  EXPECT_EQ(ErrorOf("0 0 * * 5-0"), "day-of-week: range 5-0 is reversed");
  EXPECT_EQ(ErrorOf("@DAILY"), "ok");
  EXPECT_EQ(CronExpr::Parse("@Weekly")->Describe(), "At 00:00 on Sunday");
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
  EXPECT_EQ(d("0 9-17 * * MON-FRI"), "Every hour from 09:00 to 17:00 on Monday through Friday");
  EXPECT_EQ(d("*/5 9-17 * * *"), "Every 5 minutes, between 09:00 and 17:59");
  EXPECT_EQ(d("*/15 */3 * * *"), "Every 15 minutes, in every 3rd hour");
  EXPECT_EQ(d("0 0 1 */3 *"), "At 00:00 on day 1 of the month in January, April, July and October");
  EXPECT_EQ(d("0 0 1,15 * *"), "At 00:00 on days 1 and 15 of the month");
  EXPECT_EQ(d("0 0 15W * *"), "At 00:00 on the weekday nearest day 15 of the month");
  EXPECT_EQ(d("15,45 0 * * * *"), "At seconds 15 and 45, at minute 0 past every hour");
  EXPECT_EQ(d("0 0 13 * FRI"), "At 00:00 on day 13 of the month or on Friday");
  EXPECT_EQ(d("0 0 * * 5L"), "At 00:00 on the last Friday of the month");
  EXPECT_EQ(d("0 0 * * MON#2"), "At 00:00 on the second Monday of the month");
  EXPECT_EQ(d("0 0 1 JAN-MAR *"), "At 00:00 on day 1 of the month in January through March");
  EXPECT_EQ(d("*/30 0-3 * * *"), "Every 30 minutes, between 00:00 and 03:59");
}

// An independent model of what a generated expression means, to check the
// field-jumping engine against a plain day-by-day search.
struct Model {
  std::set<int> sec, min, hour, month, dom, dow;
  bool dom_any = true, dow_any = true, last = false, last_weekday = false;
  std::set<int> nearest, last_dow;
  std::set<std::pair<int, int>> nth;  // (weekday, k)

  bool DayMatches(int y, int m, int d) const {
    if (!month.count(m)) return false;
    const int dim = civil::DaysInMonth(y, m);
    auto wd = [&](int day) {
      return civil::WeekdayFromDays(
          civil::DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(day)));
    };
    bool dm = dom.count(d) > 0 || (last && d == dim);
    if (last_weekday) {
      int x = dim;
      while (wd(x) == 0 || wd(x) == 6) --x;
      dm = dm || d == x;
    }
    for (int n : nearest) {
      if (n > dim) continue;
      int x = n;
      if (wd(n) == 6) x = n == 1 ? 3 : n - 1;
      if (wd(n) == 0) x = n == dim ? n - 2 : n + 1;
      dm = dm || d == x;
    }
    const int w = wd(d);
    bool wm = dow.count(w) > 0 || (last_dow.count(w) > 0 && d + 7 > dim) ||
              nth.count({w, (d - 1) / 7 + 1}) > 0;
    if (dom_any && dow_any) return true;
    if (dom_any) return wm;
    if (dow_any) return dm;
    return dm || wm;
  }

  std::optional<LocalSeconds> Next(LocalSeconds after) const {
    const int64_t first_day = civil::FloorDiv(after, civil::kSecondsPerDay);
    for (int64_t day = first_day; day < first_day + 3 * 366; ++day) {
      int y, m, d;
      civil::CivilFromDays(day, &y, &m, &d);
      if (!DayMatches(y, m, d)) continue;
      for (int h : hour)
        for (int mi : min)
          for (int s : sec) {
            LocalSeconds t = day * civil::kSecondsPerDay + h * 3600 + mi * 60 + s;
            if (t > after) return t;
          }
    }
    return std::nullopt;
  }
};

struct Generator {
  std::mt19937 rng{12345};
  int Rand(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

  // A plain field: returns its text and adds its values to `out`.
  std::string Plain(int lo, int hi, std::set<int>& out, const char* const* names = nullptr) {
    if (Rand(0, 3) == 0) {
      for (int v = lo; v <= hi; ++v) out.insert(v);
      return "*";
    }
    std::string text;
    const int items = Rand(1, 3);
    for (int i = 0; i < items; ++i) {
      if (i > 0) text += ",";
      auto name = [&](int v) {
        return names != nullptr && Rand(0, 1) ? std::string(names[v - lo]) : std::to_string(v);
      };
      switch (Rand(0, 3)) {
        case 0: {
          int v = Rand(lo, hi);
          out.insert(v);
          text += name(v);
          break;
        }
        case 1: {
          int a = Rand(lo, hi), b = Rand(a, hi);
          for (int v = a; v <= b; ++v) out.insert(v);
          text += name(a) + "-" + name(b);
          break;
        }
        case 2: {
          int n = Rand(1, (hi - lo + 1) / 2);
          for (int v = lo; v <= hi; v += n) out.insert(v);
          text += "*/" + std::to_string(n);
          break;
        }
        default: {
          int a = Rand(lo, hi), b = Rand(a, hi), n = Rand(1, std::max(1, b - a + 1));
          for (int v = a; v <= b; v += n) out.insert(v);
          text += name(a) + "-" + name(b) + "/" + std::to_string(n);
          break;
        }
      }
    }
    return text;
  }

  std::pair<std::string, Model> Make() {
    static const char* const kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    static const char* const kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
    Model m;
    std::string text;
    const bool six = Rand(0, 1) == 1;
    if (six) {
      text += Plain(0, 59, m.sec) + " ";
    } else {
      m.sec = {0};
    }
    text += Plain(0, 59, m.min) + " " + Plain(0, 23, m.hour) + " ";
    // day-of-month
    if (Rand(0, 2) == 0) {
      text += Rand(0, 1) ? "*" : "?";
    } else {
      m.dom_any = false;
      std::string f;
      const int items = Rand(1, 2);
      for (int i = 0; i < items; ++i) {
        if (i > 0) f += ",";
        switch (Rand(0, 4)) {
          case 0:
            f += "L";
            m.last = true;
            break;
          case 1:
            f += "LW";
            m.last_weekday = true;
            break;
          case 2: {
            int n = Rand(1, 31);
            f += std::to_string(n) + "W";
            m.nearest.insert(n);
            break;
          }
          default:
            f += Plain(1, 31, m.dom);
            break;
        }
      }
      m.dom_any = f == "*";  // a literal * is unrestricted, whatever built it
      text += f;
    }
    text += " " + Plain(1, 12, m.month, kMonths) + " ";
    // day-of-week
    if (Rand(0, 2) == 0) {
      text += "*";
    } else {
      m.dow_any = false;
      std::string f;
      const int items = Rand(1, 2);
      for (int i = 0; i < items; ++i) {
        if (i > 0) f += ",";
        const int w = Rand(0, 7);
        const std::string wn = Rand(0, 1) ? std::string(kDays[w % 7]) : std::to_string(w);
        switch (Rand(0, 3)) {
          case 0:
            f += wn + "L";
            m.last_dow.insert(w % 7);
            break;
          case 1: {
            int k = Rand(1, 5);
            f += wn + "#" + std::to_string(k);
            m.nth.insert({w % 7, k});
            break;
          }
          default: {
            std::set<int> raw;
            f += Plain(0, 7, raw, nullptr);
            for (int v : raw) m.dow.insert(v % 7);
            break;
          }
        }
      }
      m.dow_any = f == "*";
      text += f;
    }
    return {text, m};
  }
};

TEST(Cron, FieldJumpingAgreesWithADayByDaySearch) {
  Generator gen;
  int mismatches = 0;
  for (int i = 0; i < 3000; ++i) {
    auto [text, model] = gen.Make();
    auto cron = CronExpr::Parse(text);
    ASSERT_TRUE(cron) << text << ": " << cron.error().message;
    const LocalSeconds after =
        civil::FromCivil({gen.Rand(2024, 2030), gen.Rand(1, 12), gen.Rand(1, 28), gen.Rand(0, 23),
                          gen.Rand(0, 59), gen.Rand(0, 59)});
    LocalSeconds t = after;
    for (int k = 0; k < 5; ++k) {
      auto want = model.Next(t);
      auto got = cron->NextLocal(t);
      if (!want) break;  // nothing within 3 years: the engine may look further
      if (!got || *got != *want) {
        if (++mismatches <= 5) {
          std::string dbg = " dom{";
          for (int v : model.dom) dbg += std::to_string(v) + ",";
          dbg += "} dow{";
          for (int v : model.dow) dbg += std::to_string(v) + ",";
          dbg += "} any " + std::to_string(model.dom_any) + std::to_string(model.dow_any);
          ADD_FAILURE() << dbg << " " << text << " after " << civil::FormatWallTime(t) << ": want "
                        << civil::FormatWallTime(*want) << " got "
                        << (got ? civil::FormatWallTime(*got) : "none");
        }
        break;
      }
      t = *got;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// Interval jobs near daylight-saving changes against a minute-by-minute walk
// over instants: an instant fires when its wall time (at its own offset)
// matches. Fixed-time jobs are covered by the reference cases.
TEST(Cron, IntervalJobsAroundTransitionsAgreeWithAMinuteWalk) {
  Generator gen;
  const char* zones[] = {"America/New_York", "Europe/London",    "Australia/Lord_Howe",
                         "Pacific/Chatham",  "America/Santiago", "Asia/Kolkata"};
  int checked = 0, mismatches = 0;
  for (int i = 0; i < 400 && mismatches < 5; ++i) {
    auto [text, model] = gen.Make();
    if (model.sec != std::set<int>{0}) continue;  // minute walk only
    model.dom_any = model.dow_any = true;         // frequent enough to walk to
    for (int mo = 1; mo <= 12; ++mo) model.month.insert(mo);
    std::string five = text.substr(0, text.find(' ', text.find(' ') + 1));
    five += " * * *";
    auto cron = CronExpr::Parse(five);
    ASSERT_TRUE(cron) << five;
    if (cron->IsFixedTime()) continue;
    auto zone = TimeZone::Find(zones[i % 6]);
    ASSERT_TRUE(zone);
    // A transition in 2027, then start a few hours before it.
    int64_t t0 = civil::FromCivil({2027, gen.Rand(0, 1) ? 3 : 9, 1, 0, 0, 0});
    int64_t transition = zone->PeriodAt(t0).end;
    if (transition > t0 + 250 * 86400) transition = t0;  // no change in that window
    int64_t after = transition - gen.Rand(0, 4 * 3600) - gen.Rand(0, 59);
    ++checked;
    int64_t t = after;
    for (int k = 0; k < 6; ++k) {
      std::optional<int64_t> want;
      for (int64_t m = civil::FloorDiv(t, 60) + 1; m < civil::FloorDiv(t, 60) + 3 * 1440; ++m) {
        const CivilTime c = civil::ToCivil(zone->ToLocal(m * 60));
        if (model.min.count(c.minute) && model.hour.count(c.hour)) {
          want = m * 60;
          break;
        }
      }
      auto got = NextWallClockFire(*cron, false, *zone, t);
      if (!want) break;
      if (got != want) {
        ++mismatches;
        ADD_FAILURE() << five << " in " << zones[i % 6] << " after "
                      << FormatIso(FromUnixMs(t * 1000)) << ": want "
                      << FormatIso(FromUnixMs(*want * 1000)) << " got "
                      << (got ? FormatIso(FromUnixMs(*got * 1000)) : "none");
        break;
      }
      t = *got;
    }
  }
  EXPECT_GT(checked, 50);
}

}  // namespace
}  // namespace weft
