// Calendar arithmetic on zone-less wall-clock times ("local seconds": seconds
// since 1970-01-01T00:00:00 of a wall clock). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace weft {

// Seconds since 1970-01-01T00:00:00 on a wall clock, with no zone attached.
using LocalSeconds = int64_t;

struct CivilTime {
  int year = 1970;
  int month = 1;  // 1-12
  int day = 1;    // 1-31
  int hour = 0;
  int minute = 0;
  int second = 0;
  bool operator==(const CivilTime&) const = default;
};

namespace civil {

constexpr int64_t kSecondsPerDay = 86400;

// Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's algorithm).
constexpr int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

constexpr void CivilFromDays(int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(yy + (*m <= 2));
}

// 0 = Sunday ... 6 = Saturday.
constexpr int WeekdayFromDays(int64_t z) {
  return static_cast<int>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

constexpr bool IsLeap(int y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr int DaysInMonth(int y, int m) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

inline LocalSeconds FromCivil(const CivilTime& c) {
  return DaysFromCivil(c.year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day)) *
             kSecondsPerDay +
         c.hour * 3600 + c.minute * 60 + c.second;
}

inline CivilTime ToCivil(LocalSeconds s) {
  CivilTime c;
  const int64_t days = FloorDiv(s, kSecondsPerDay);
  int64_t rem = s - days * kSecondsPerDay;
  CivilFromDays(days, &c.year, &c.month, &c.day);
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem / 60 % 60);
  c.second = static_cast<int>(rem % 60);
  return c;
}

// "2026-12-24 18:00" (":ss" only when seconds are non-zero).
std::string FormatWallTime(LocalSeconds s);

// "18:00" or "18:00:30".
std::string FormatTimeOfDay(int seconds_of_day);

}  // namespace civil
}  // namespace weft
