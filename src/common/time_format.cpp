#include "common/time_format.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>

namespace weft {
namespace {

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Hinnant).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
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

}  // namespace

std::string FormatIso(TimePoint t) {
  int64_t ms = ToUnixMs(t);
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int frac = static_cast<int>(ms - secs * 1000);
  time_t tt = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  if (frac != 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return buf;
}

std::optional<TimePoint> ParseIso(std::string_view s) {
  int y, mo, d, h, mi, sec = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 16 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi))
    return std::nullopt;
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!Digits(s, pos + 1, 2, &sec)) return std::nullopt;
    pos += 3;
  }
  int ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100, n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++n;
    }
    if (n == 0) return std::nullopt;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    int sign = s[pos] == '-' ? -1 : 1;
    if (!Digits(s, pos + 1, 2, &oh)) return std::nullopt;
    size_t p2 = pos + 3;
    if (p2 < s.size() && s[p2] == ':') ++p2;
    if (!Digits(s, p2, 2, &om)) return std::nullopt;
    offset_min = sign * (oh * 60 + om);
    pos = p2 + 2;
  } else {
    return std::nullopt;  // an instant needs its offset
  }
  if (pos != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  int64_t days = DaysFromCivil(y, mo, d);
  int64_t total = ((days * 24 + h) * 60 + mi - offset_min) * 60 + sec;
  return FromUnixMs(total * 1000 + ms);
}

std::optional<Millis> ParseDuration(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0 || i == s.size()) return std::nullopt;
  std::string num(s.substr(0, i));
  if (num.find('.') != num.rfind('.') || num.front() == '.' || num.back() == '.')
    return std::nullopt;
  double v = std::stod(num);
  std::string_view unit = s.substr(i);
  double factor;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else if (unit == "d")
    factor = 86'400'000;
  else
    return std::nullopt;
  double ms = v * factor;
  if (!std::isfinite(ms) || ms > 1e15) return std::nullopt;
  return Millis(static_cast<int64_t>(std::llround(ms)));
}

std::string FormatDuration(Millis d) {
  int64_t ms = d.count();
  struct Unit {
    int64_t f;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  for (const auto& u : kUnits) {
    if (ms >= u.f && ms % u.f == 0) return std::to_string(ms / u.f) + u.name;
  }
  return std::to_string(ms) + "ms";
}

std::optional<uint64_t> ParseByteSize(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 13) return std::nullopt;
  std::string unit;
  for (char c : s.substr(digits)) unit += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  uint64_t scale = unit.empty() || unit == "b"                    ? 1
                   : unit == "kib" || unit == "kb" || unit == "k" ? uint64_t{1} << 10
                   : unit == "mib" || unit == "mb" || unit == "m" ? uint64_t{1} << 20
                   : unit == "gib" || unit == "gb" || unit == "g" ? uint64_t{1} << 30
                                                                  : 0;
  if (scale == 0) return std::nullopt;
  uint64_t n = 0;
  for (size_t i = 0; i < digits; ++i) n = n * 10 + static_cast<uint64_t>(s[i] - '0');
  if (n == 0 || n > (uint64_t{1} << 40) / scale) return std::nullopt;
  return n * scale;
}

}  // namespace weft
