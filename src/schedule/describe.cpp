#include "schedule/describe.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <functional>

namespace weft {
namespace {

constexpr const char* kDayNames[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                     "Thursday", "Friday", "Saturday"};
constexpr const char* kMonthNames[] = {"January",   "February", "March",    "April",
                                       "May",       "June",     "July",     "August",
                                       "September", "October",  "November", "December"};
constexpr const char* kOrdinals[] = {"", "first", "second", "third", "fourth", "fifth"};

std::vector<int> Bits(uint64_t bits) {
  std::vector<int> out;
  for (; bits != 0; bits &= bits - 1) out.push_back(std::countr_zero(bits));
  return out;
}

// Names of the set values, with runs of three or more as "a through b".
std::vector<std::string> Runs(const std::vector<int>& values,
                              const std::function<std::string(int)>& name) {
  std::vector<std::string> out;
  for (size_t i = 0; i < values.size();) {
    size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    if (j - i >= 2) {
      out.push_back(name(values[i]) + " through " + name(values[j]));
    } else {
      for (size_t k = i; k <= j; ++k) out.push_back(name(values[k]));
    }
    i = j + 1;
  }
  return out;
}

std::string TwoDigits(int v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", v);
  return buf;
}

std::string Clock(int h, int m, int s) {
  return TwoDigits(h) + ":" + TwoDigits(m) + (s != 0 ? ":" + TwoDigits(s) : "");
}

// Is `bits` (values lo..hi) exactly a step sequence "*/n" from lo? Returns n or 0.
int StepOf(uint64_t bits, int lo, int hi) {
  std::vector<int> v = Bits(bits);
  if (v.size() < 2 || v[0] != lo) return 0;
  const int n = v[1] - v[0];
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] - v[i - 1] != n) return 0;
  }
  return v.back() + n > hi ? n : 0;
}

// 2 -> "2nd", 3 -> "3rd", 11 -> "11th".
std::string Ordinal(int n) {
  const char* suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

}  // namespace

std::string JoinEnglish(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += (i + 1 == items.size()) ? " and " : ", ";
    out += items[i];
  }
  return out;
}

std::string DescribeInterval(int64_t seconds) {
  auto unit = [](int64_t n, const char* one) {
    return n == 1 ? std::string(one) : std::to_string(n) + " " + one + "s";
  };
  if (seconds % 3600 == 0) return unit(seconds / 3600, "hour");
  if (seconds % 60 == 0) return unit(seconds / 60, "minute");
  return unit(seconds, "second");
}

// Reads CronExpr's private fields for its description.
class CronDescriber {
 public:
  static std::string Days(const CronExpr& e);
  static std::string Describe(const CronExpr& e);

 private:
  static std::string TimePart(const CronExpr& e);
};

std::string CronDescriber::Days(const CronExpr& e) {
  if (!e.dom_any_ && e.dow_any_ && std::popcount(e.dom_) == 1 && std::popcount(e.month_) == 1 &&
      !e.dom_last_ && !e.dom_last_weekday_ && e.dom_nearest_ == 0) {
    return std::string("on ") + kMonthNames[std::countr_zero(e.month_) - 1] + " " +
           std::to_string(std::countr_zero(e.dom_));  // "on December 31"
  }
  std::string dom_text, dow_text;
  if (!e.dom_any_) {
    std::vector<std::string> parts;
    const uint64_t all = ((1ull << 32) - 1) & ~1ull;
    const int step = StepOf(e.dom_, 1, 31);
    if (e.dom_ == all) {
      parts.push_back("every day of the month");
    } else if (step > 1) {
      parts.push_back("every " + Ordinal(step) + " day of the month from day 1");
    } else if (e.dom_ != 0) {
      auto names = Runs(Bits(e.dom_), [](int d) { return std::to_string(d); });
      parts.push_back((Bits(e.dom_).size() == 1 ? "day " : "days ") + JoinEnglish(names) +
                      " of the month");
    }
    for (int n : Bits(e.dom_nearest_)) {
      parts.push_back("the weekday nearest day " + std::to_string(n) + " of the month");
    }
    if (e.dom_last_) parts.push_back("the last day of the month");
    if (e.dom_last_weekday_) parts.push_back("the last weekday of the month");
    dom_text = JoinEnglish(parts);
  }
  if (!e.dow_any_) {
    std::vector<std::string> parts;
    if (e.dow_ != 0) {
      // Monday first, so Friday-Sunday reads "Friday through Sunday".
      std::vector<int> days;
      for (int d : Bits(e.dow_)) days.push_back(d == 0 ? 7 : d);
      std::sort(days.begin(), days.end());
      auto names = Runs(days, [](int d) { return std::string(kDayNames[d % 7]); });
      if (e.dow_ == 0x7f) names = {"every day of the week"};
      parts.push_back(JoinEnglish(names));
    }
    for (int k = 1; k <= 5; ++k) {
      for (int w : Bits(e.dow_nth_[k])) {
        parts.push_back(std::string("the ") + kOrdinals[k] + " " + kDayNames[w] + " of the month");
      }
    }
    for (int w : Bits(e.dow_last_)) {
      parts.push_back(std::string("the last ") + kDayNames[w] + " of the month");
    }
    dow_text = JoinEnglish(parts);
  }
  std::string out;
  if (!dom_text.empty() && !dow_text.empty()) {
    out = "on " + dom_text + " or on " + dow_text;
  } else if (!dom_text.empty()) {
    out = "on " + dom_text;
  } else if (!dow_text.empty()) {
    out = "on " + dow_text;
  }
  if (e.month_ != 0x1ffe) {
    auto names = Runs(Bits(e.month_), [](int m) { return std::string(kMonthNames[m - 1]); });
    out += (out.empty() ? "" : " ") + std::string("in ") + JoinEnglish(names);
  }
  return out;
}

std::string CronDescriber::TimePart(const CronExpr& e) {
  const std::vector<int> secs = Bits(e.second_), mins = Bits(e.minute_), hours = Bits(e.hour_);
  const uint64_t all60 = (1ull << 60) - 1, all24 = (1ull << 24) - 1;
  // A handful of exact times: list them.
  if (secs.size() == 1 && mins.size() * hours.size() <= 6) {
    std::vector<std::string> times;
    for (int h : hours) {
      for (int m : mins) times.push_back(Clock(h, m, secs[0]));
    }
    return "At " + JoinEnglish(times);
  }
  const bool contiguous_hours = hours.back() - hours.front() + 1 == static_cast<int>(hours.size());
  if (secs.size() == 1 && mins.size() == 1 && contiguous_hours && e.hour_ != all24) {
    return "Every hour from " + Clock(hours.front(), mins[0], secs[0]) + " to " +
           Clock(hours.back(), mins[0], secs[0]);
  }
  auto hour_phrase = [&]() -> std::string {
    if (e.hour_ == all24) return "";
    const int step = StepOf(e.hour_, 0, 23);
    if (step > 1) return ", in every " + Ordinal(step) + " hour";
    if (hours.back() - hours.front() + 1 == static_cast<int>(hours.size())) {
      return ", between " + Clock(hours.front(), 0, 0) + " and " + Clock(hours.back(), 59, 0);
    }
    std::vector<std::string> names;
    for (int h : hours) names.push_back(Clock(h, 0, 0));
    return ", in the hours starting " + JoinEnglish(names);
  };
  auto values = [](const std::vector<int>& v) {
    return JoinEnglish(Runs(v, [](int x) { return std::to_string(x); }));
  };
  std::string out;
  if (secs.size() == 1 && secs[0] == 0) {
    // Minute granularity.
    if (e.minute_ == all60) {
      out = "Every minute";
    } else if (int step = StepOf(e.minute_, 0, 59); step > 1) {
      out = "Every " + std::to_string(step) + " minutes";
    } else if (mins.size() == 1) {
      if (e.hour_ == all24)
        return mins[0] == 0 ? "Every hour"
                            : "At " + std::to_string(mins[0]) + " minutes past every hour";
      if (int hs = StepOf(e.hour_, 0, 23); hs > 1) {
        return mins[0] == 0 ? "Every " + std::to_string(hs) + " hours"
                            : "At " + std::to_string(mins[0]) + " minutes past every " +
                                  std::to_string(hs) + " hours";
      }
      out = "At minute " + std::to_string(mins[0]) + " past the hour";
    } else {
      out = "At minutes " + values(mins) + " past the hour";
    }
    return out + hour_phrase();
  }
  if (e.second_ == all60) {
    out = "Every second";
  } else if (int step = StepOf(e.second_, 0, 59); step > 1) {
    out = "Every " + std::to_string(step) + " seconds";
  } else {
    out = std::string(secs.size() == 1 ? "At second " : "At seconds ") + values(secs);
  }
  if (e.minute_ != all60) {
    if (int step = StepOf(e.minute_, 0, 59); step > 1) {
      out += ", every " + std::to_string(step) + " minutes";
    } else {
      out += std::string(mins.size() == 1 ? ", at minute " : ", at minutes ") + values(mins);
      if (e.hour_ == all24) out += " past every hour";
    }
  }
  return out + hour_phrase();
}

std::string CronDescriber::Describe(const CronExpr& e) {
  std::string out = TimePart(e);
  std::string days = Days(e);
  if (!days.empty()) {
    out += " " + days;
  } else if (out.rfind("At ", 0) == 0 && out.find(':') == 5) {  // a list of times of day
    out += " every day";
  }
  return out;
}

std::string DescribeDays(const CronExpr& cron) { return CronDescriber::Days(cron); }
std::string CronExpr::Describe() const { return CronDescriber::Describe(*this); }

}  // namespace weft
