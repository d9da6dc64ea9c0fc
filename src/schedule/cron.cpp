#include "schedule/cron.h"

#include <bit>
#include <cctype>
#include <vector>

namespace weft {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
};

enum Field { kSecond = 0, kMinute, kHour, kDom, kMonth, kDow };

constexpr FieldSpec kSpecs[6] = {{"second", 0, 59},       {"minute", 0, 59}, {"hour", 0, 23},
                                 {"day-of-month", 1, 31}, {"month", 1, 12},  {"day-of-week", 0, 7}};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

uint64_t RangeBits(int lo, int hi) {  // bits lo..hi inclusive
  return (hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

// Parses one expression into a CronExpr. A class (a friend of CronExpr) so the
// field helpers can fill its private bit sets.
class CronParser {
 public:
  static Result<CronExpr> Parse(std::string_view input);

 private:
  static Result<int> Value(std::string_view tok, Field f);
  static Result<void> Item(std::string_view item, Field f, CronExpr& e, uint64_t& bits);
  static Result<void> FieldText(std::string_view text, Field f, CronExpr& e);
  static Unexpected Err(Field f, std::string what) {
    return Fail(ErrorCode::kValidation, std::string(kSpecs[f].name) + ": " + what);
  }
};

Result<int> CronParser::Value(std::string_view tok, Field f) {
  const FieldSpec& spec = kSpecs[f];
  if (tok.empty()) return Err(f, "a value is missing");
  if (AllDigits(tok)) {
    int v = 0;
    for (char c : tok) {
      v = v * 10 + (c - '0');
      if (v > 9999) break;
    }
    if (v < spec.min || v > spec.max) {
      return Fail(ErrorCode::kValidation, std::string(spec.name) + " " + std::string(tok) +
                                              " is out of range " + std::to_string(spec.min) + "-" +
                                              std::to_string(spec.max));
    }
    return v;
  }
  bool alpha = true;
  for (char c : tok) alpha = alpha && std::isalpha(static_cast<unsigned char>(c));
  if (alpha && (f == kMonth || f == kDow)) {
    const std::string up = Upper(tok);
    if (f == kMonth) {
      for (int i = 0; i < 12; ++i) {
        if (up == kMonthNames[i]) return i + 1;
      }
    } else {
      for (int i = 0; i < 7; ++i) {
        if (up == kDayNames[i]) return i;
      }
    }
    return Err(f, "unknown name " + Quote(tok) +
                      (f == kMonth ? " (use JAN-DEC or 1-12)" : " (use SUN-SAT or 0-7)"));
  }
  if (alpha) return Err(f, Quote(tok) + " is not a number");
  return Err(f, Quote(tok) + " is not a valid value");
}

Result<void> CronParser::Item(std::string_view item, Field f, CronExpr& e, uint64_t& bits) {
  const FieldSpec& spec = kSpecs[f];
  if (item.empty()) return Err(f, "empty item in list");
  const std::string up = Upper(item);

  if (f == kDom) {
    if (up == "L") {
      e.dom_last_ = true;
      return Ok();
    }
    if (up == "LW") {
      e.dom_last_weekday_ = true;
      return Ok();
    }
    if (up.size() >= 2 && up.back() == 'W' &&
        AllDigits(std::string_view(up).substr(0, up.size() - 1))) {
      auto v = Value(std::string_view(up).substr(0, up.size() - 1), f);
      if (!v) return Fail(std::move(v).error());
      e.dom_nearest_ |= 1ull << *v;
      return Ok();
    }
  }
  if (f == kDow) {
    const size_t hash = up.find('#');
    if (hash != std::string::npos) {
      auto v = Value(std::string_view(up).substr(0, hash), f);
      if (!v) return Fail(std::move(v).error());
      std::string_view k = std::string_view(up).substr(hash + 1);
      if (!AllDigits(k) || k.size() > 1 || k[0] < '1' || k[0] > '5') {
        return Err(f, "in " + Quote(item) + " the number after # must be 1-5");
      }
      e.dow_nth_[k[0] - '0'] |= 1ull << (*v % 7);
      return Ok();
    }
    if (up.size() >= 2 && up.back() == 'L') {
      auto v = Value(std::string_view(up).substr(0, up.size() - 1), f);
      if (!v) return Fail(std::move(v).error());
      e.dow_last_ |= 1ull << (*v % 7);
      return Ok();
    }
  }

  std::string_view base = item;
  int step = 1;
  const size_t slash = item.find('/');
  const bool has_step = slash != std::string_view::npos;
  if (has_step) {
    base = item.substr(0, slash);
    std::string_view st = item.substr(slash + 1);
    if (st.find('/') != std::string_view::npos) return Err(f, Quote(item) + " has more than one /");
    const int width = (f == kDow ? 7 : spec.max - spec.min + 1);
    if (!AllDigits(st))
      return Err(f, "step " + Quote(st) + " in " + Quote(item) + " is not a number");
    step = 0;
    for (char c : st) {
      step = step * 10 + (c - '0');
      if (step > 9999) break;
    }
    if (step < 1 || step > width) {
      return Err(f, "step " + std::string(st) + " is out of range 1-" + std::to_string(width));
    }
  }
  int lo, hi;
  if (base == "*" || base == "?") {
    lo = spec.min;
    hi = (f == kDow ? 6 : spec.max);
  } else {
    const size_t dash = base.find('-');
    if (dash == std::string_view::npos) {
      if (has_step)
        return Err(f,
                   "a step needs * or a range before it, as in */n or a-b/n (" + Quote(item) + ")");
      auto v = Value(base, f);
      if (!v) return Fail(std::move(v).error());
      lo = hi = *v;
    } else {
      std::string_view a = base.substr(0, dash), b = base.substr(dash + 1);
      if (b.find('-') != std::string_view::npos)
        return Err(f, Quote(item) + " is not a valid range");
      auto va = Value(a, f);
      if (!va) return Fail(std::move(va).error());
      auto vb = Value(b, f);
      if (!vb) return Fail(std::move(vb).error());
      lo = *va;
      hi = *vb;
      // FRI-SUN: the name SUN ending a range is 7 (a numeric 5-0 stays reversed).
      if (f == kDow && hi == 0 && lo > 0 && std::isalpha(static_cast<unsigned char>(b[0]))) hi = 7;
      if (lo > hi) return Err(f, "range " + std::string(base) + " is reversed");
    }
  }
  for (int v = lo; v <= hi; v += step) bits |= 1ull << (f == kDow ? v % 7 : v);
  return Ok();
}

Result<void> CronParser::FieldText(std::string_view text, Field f, CronExpr& e) {
  uint64_t bits = 0;
  size_t pos = 0;
  while (true) {
    const size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    auto r = Item(item, f, e, bits);
    if (!r) return r;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  switch (f) {
    case kSecond:
      e.second_ = bits;
      break;
    case kMinute:
      e.minute_ = bits;
      break;
    case kHour:
      e.hour_ = bits;
      break;
    case kDom:
      e.dom_ = bits;
      e.dom_any_ = (text == "*" || text == "?");
      break;
    case kMonth:
      e.month_ = bits;
      break;
    case kDow:
      e.dow_ = bits;
      e.dow_any_ = (text == "*" || text == "?");
      break;
  }
  return Ok();
}

Result<CronExpr> CronParser::Parse(std::string_view input) {
  size_t b = 0, n = input.size();
  while (b < n && std::isspace(static_cast<unsigned char>(input[b]))) ++b;
  while (n > b && std::isspace(static_cast<unsigned char>(input[n - 1]))) --n;
  std::string_view text = input.substr(b, n - b);
  if (text.empty()) return Fail(ErrorCode::kValidation, "the cron expression is empty");

  std::string_view body = text;
  if (text[0] == '@') {
    std::string lower(text);  // macros are case-insensitive, as names are
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "@yearly" || lower == "@annually")
      body = "0 0 1 1 *";
    else if (lower == "@monthly")
      body = "0 0 1 * *";
    else if (lower == "@weekly")
      body = "0 0 * * 0";
    else if (lower == "@daily" || lower == "@midnight")
      body = "0 0 * * *";
    else if (lower == "@hourly")
      body = "0 * * * *";
    else {
      return Fail(ErrorCode::kValidation,
                  "unknown macro " + Quote(text) +
                      " (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
    }
  }

  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
    size_t j = i;
    while (j < body.size() && !std::isspace(static_cast<unsigned char>(body[j]))) ++j;
    if (j > i) parts.push_back(body.substr(i, j - i));
    i = j;
  }
  if (parts.size() != 5 && parts.size() != 6) {
    return Fail(ErrorCode::kValidation,
                "expected 5 fields (minute hour day-of-month month "
                "day-of-week) or 6 with seconds first, got " +
                    std::to_string(parts.size()));
  }
  CronExpr e;
  e.text_ = std::string(text);
  e.has_seconds_ = parts.size() == 6;
  if (!e.has_seconds_) parts.insert(parts.begin(), std::string_view("0"));
  for (int f = 0; f < 6; ++f) {
    auto r = FieldText(parts[f], static_cast<Field>(f), e);
    if (!r) return Fail(std::move(r).error());
    e.fields_[f] = Upper(parts[f]);
  }
  e.fixed_time_ = AllDigits(parts[0]) && AllDigits(parts[1]) && AllDigits(parts[2]);
  if (e.fixed_time_) {
    e.fixed_time_of_day_ = std::countr_zero(e.hour_) * 3600 + std::countr_zero(e.minute_) * 60 +
                           std::countr_zero(e.second_);
  }
  return e;
}

Result<CronExpr> CronExpr::Parse(std::string_view text) { return CronParser::Parse(text); }

uint64_t CronExpr::DayMask(int year, int month) const {
  const int ndays = civil::DaysInMonth(year, month);
  const uint64_t valid = RangeBits(1, ndays);
  if (dom_any_ && dow_any_) return valid;
  const int64_t first = civil::DaysFromCivil(year, static_cast<unsigned>(month), 1);
  const int wd1 = civil::WeekdayFromDays(first);  // weekday of day 1

  uint64_t dom_mask = 0;
  if (!dom_any_) {
    dom_mask = dom_ & valid;
    const int wd_last = (wd1 + ndays - 1) % 7;
    if (dom_last_) dom_mask |= 1ull << ndays;
    if (dom_last_weekday_) {
      int d = ndays - (wd_last == 6 ? 1 : wd_last == 0 ? 2 : 0);
      dom_mask |= 1ull << d;
    }
    for (uint64_t bits = dom_nearest_; bits != 0; bits &= bits - 1) {
      int n = std::countr_zero(bits);
      if (n > ndays) continue;  // no such day this month: nothing to be near to
      const int wd = (wd1 + n - 1) % 7;
      int d = n;
      if (wd == 6) d = n > 1 ? n - 1 : n + 2;
      if (wd == 0) d = n < ndays ? n + 1 : n - 2;
      dom_mask |= 1ull << d;
    }
  }
  uint64_t dow_mask = 0;
  if (!dow_any_) {
    for (int w = 0; w < 7; ++w) {
      const int first_d = (w - wd1 + 7) % 7 + 1;  // first day of the month on weekday w
      if (dow_ >> w & 1) {
        for (int d = first_d; d <= ndays; d += 7) dow_mask |= 1ull << d;
      }
      if (dow_last_ >> w & 1) {
        dow_mask |= 1ull << (first_d + (ndays - first_d) / 7 * 7);
      }
      for (int k = 1; k <= 5; ++k) {
        if (dow_nth_[k] >> w & 1) {
          const int d = first_d + 7 * (k - 1);
          if (d <= ndays) dow_mask |= 1ull << d;
        }
      }
    }
  }
  if (dom_any_) return dow_mask;
  if (dow_any_) return dom_mask;
  return dom_mask | dow_mask;
}

bool CronExpr::MatchesDay(int year, int month, int day) const {
  return (month_ >> month & 1) && (DayMask(year, month) >> day & 1);
}

std::optional<LocalSeconds> CronExpr::NextLocal(LocalSeconds after) const {
  CivilTime c = civil::ToCivil(after + 1);
  int y = c.year, mo = c.month, d = c.day, h = c.hour, mi = c.minute, s = c.second;
  const int last_year = y + 400;
  // Each step either accepts a field or moves it to its next candidate and
  // resets the smaller fields; a carry restarts from the month.
  while (y <= last_year) {
    if (!(month_ >> mo & 1)) {
      const uint64_t later = mo >= 12 ? 0 : month_ & ~((1ull << (mo + 1)) - 1);
      if (later == 0) {
        ++y;
        mo = std::countr_zero(month_);
      } else {
        mo = std::countr_zero(later);
      }
      d = 1;
      h = mi = s = 0;
      continue;
    }
    const uint64_t days = DayMask(y, mo) & ~((1ull << d) - 1);
    if (days == 0) {
      if (++mo > 12) {
        mo = 1;
        ++y;
      }
      d = 1;
      h = mi = s = 0;
      continue;
    }
    const int nd = std::countr_zero(days);
    if (nd != d) {
      d = nd;
      h = mi = s = 0;
    }
    const uint64_t hours = h > 23 ? 0 : hour_ & ~((1ull << h) - 1);
    if (hours == 0) {
      ++d;  // d may pass the month's end: the day mask then finds nothing
      h = mi = s = 0;
      continue;
    }
    const int nh = std::countr_zero(hours);
    if (nh != h) {
      h = nh;
      mi = s = 0;
    }
    const uint64_t minutes = mi > 59 ? 0 : minute_ & ~((1ull << mi) - 1);
    if (minutes == 0) {
      ++h;
      mi = s = 0;
      continue;
    }
    const int nm = std::countr_zero(minutes);
    if (nm != mi) {
      mi = nm;
      s = 0;
    }
    const uint64_t seconds = s > 59 ? 0 : second_ & ~((1ull << s) - 1);
    if (seconds == 0) {
      ++mi;
      s = 0;
      continue;
    }
    s = std::countr_zero(seconds);
    return civil::DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) *
               civil::kSecondsPerDay +
           h * 3600 + mi * 60 + s;
  }
  return std::nullopt;
}

}  // namespace weft
