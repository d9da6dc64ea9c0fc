#include "schedule/posix_tz.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "schedule/civil.h"

namespace weft {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool Done() const { return i_ >= s_.size(); }
  char Peek() const { return Done() ? '\0' : s_[i_]; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++i_;
    return true;
  }

  // A zone abbreviation: letters, or anything inside <...>.
  bool Name() {
    if (Eat('<')) {
      while (!Done() && Peek() != '>') ++i_;
      return Eat('>');
    }
    size_t n = 0;
    while (std::isalpha(static_cast<unsigned char>(Peek()))) ++i_, ++n;
    return n >= 3;
  }

  std::optional<int> Number() {
    if (!std::isdigit(static_cast<unsigned char>(Peek()))) return std::nullopt;
    int v = 0;
    while (std::isdigit(static_cast<unsigned char>(Peek()))) {
      v = v * 10 + (s_[i_++] - '0');
      if (v > 100000) return std::nullopt;
    }
    return v;
  }

  // [+-]hh[:mm[:ss]] as signed seconds.
  std::optional<int32_t> Time() {
    int sign = 1;
    if (Eat('-')) {
      sign = -1;
    } else {
      Eat('+');
    }
    auto h = Number();
    if (!h) return std::nullopt;
    int32_t v = *h * 3600;
    if (Eat(':')) {
      auto m = Number();
      if (!m) return std::nullopt;
      v += *m * 60;
      if (Eat(':')) {
        auto sec = Number();
        if (!sec) return std::nullopt;
        v += *sec;
      }
    }
    return sign * v;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<PosixTz> PosixTz::Parse(std::string_view spec) {
  Reader r(spec);
  PosixTz tz;
  if (!r.Name()) return std::nullopt;
  auto std_off = r.Time();
  if (!std_off) return std::nullopt;
  tz.std_offset_ = -*std_off;  // POSIX offsets count west
  if (r.Done()) return tz;
  if (!r.Name()) return std::nullopt;
  tz.has_dst_ = true;
  tz.dst_offset_ = tz.std_offset_ + 3600;
  if (r.Peek() != ',') {
    auto dst_off = r.Time();
    if (!dst_off) return std::nullopt;
    tz.dst_offset_ = -*dst_off;
  }
  for (When* w : {&tz.start_, &tz.end_}) {
    if (!r.Eat(',')) return std::nullopt;
    if (r.Eat('M')) {
      auto m = r.Number();
      if (!m || !r.Eat('.')) return std::nullopt;
      auto wk = r.Number();
      if (!wk || !r.Eat('.')) return std::nullopt;
      auto d = r.Number();
      if (!d || *m < 1 || *m > 12 || *wk < 1 || *wk > 5 || *d > 6) return std::nullopt;
      w->kind = 'M';
      w->month = *m;
      w->week = *wk;
      w->weekday = *d;
    } else {
      const bool julian = r.Eat('J');
      auto n = r.Number();
      if (!n || *n > 365 || (julian && *n < 1)) return std::nullopt;
      w->kind = julian ? 'J' : 'N';
      w->day = *n;
    }
    if (r.Eat('/')) {
      auto t = r.Time();
      if (!t) return std::nullopt;
      w->time = *t;
    }
  }
  if (!r.Done()) return std::nullopt;
  return tz;
}

int64_t PosixTz::Transition(const When& w, int year, int32_t offset) {
  int64_t days;
  if (w.kind == 'M') {
    const int64_t first = civil::DaysFromCivil(year, static_cast<unsigned>(w.month), 1);
    const int wd1 = civil::WeekdayFromDays(first);
    int d = 1 + (w.weekday - wd1 + 7) % 7 + 7 * (w.week - 1);
    const int dim = civil::DaysInMonth(year, w.month);
    while (d > dim) d -= 7;  // week 5 means the last one
    days = first + d - 1;
  } else if (w.kind == 'J') {
    days = civil::DaysFromCivil(year, 1, 1) + w.day - 1 + (civil::IsLeap(year) && w.day >= 60);
  } else {
    days = civil::DaysFromCivil(year, 1, 1) + w.day;
  }
  return days * civil::kSecondsPerDay + w.time - offset;
}

PosixTz::Period PosixTz::PeriodAt(int64_t t) const {
  if (!has_dst_) return {INT64_MIN / 4, INT64_MAX / 4, std_offset_};
  int y, m, d;
  civil::CivilFromDays(civil::FloorDiv(t, civil::kSecondsPerDay), &y, &m, &d);
  // Transitions of the neighbouring years, in order: (instant, offset after it).
  std::array<std::pair<int64_t, int32_t>, 6> list;
  size_t n = 0;
  for (int year = y - 1; year <= y + 1; ++year) {
    list[n++] = {Transition(start_, year, std_offset_), dst_offset_};
    list[n++] = {Transition(end_, year, dst_offset_), std_offset_};
  }
  std::sort(list.begin(), list.end());
  for (size_t i = n; i-- > 0;) {
    if (list[i].first <= t) {
      const int64_t end = i + 1 < n ? list[i + 1].first : INT64_MAX / 4;
      return {list[i].first, end, list[i].second};
    }
  }
  return {INT64_MIN / 4, list[0].first, list[0].second == dst_offset_ ? std_offset_ : dst_offset_};
}

}  // namespace weft
