// Next-fire computations per second: simple and rare cron
// expressions, in UTC and in a zone with daylight saving, plus the other
// schedule kinds. Each iteration asks for the next fire after the previous
// one, as the scheduler does. Run: build-sched/bench/scheduler/bench_next_fire
#include <benchmark/benchmark.h>

#include <string>

#include "common/json.h"
#include "common/time_format.h"
#include "schedule/schedule.h"

namespace {

void Walk(benchmark::State& state, const weft::Schedule& schedule) {
  const weft::TimePoint origin = *weft::ParseIso("2026-11-28T12:00:00Z");
  const weft::TimePoint horizon = *weft::ParseIso("2031-01-01T00:00:00Z");
  weft::TimePoint t = origin;
  for (auto _ : state) {
    auto next = weft::NextFireTime(schedule, t);
    if (!next || *next > horizon) {  // stay in the years a scheduler sees
      t = origin;
      continue;
    }
    t = *next;
    benchmark::DoNotOptimize(t);
  }
  state.counters["next_fire_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void Cron(benchmark::State& state, const char* expr, const char* zone) {
  auto schedule = weft::MakeCronSchedule(expr, zone);
  if (!schedule) {
    state.SkipWithError(schedule.error().message.c_str());
    return;
  }
  Walk(state, *schedule);
}

void Doc(benchmark::State& state, const char* json) {
  auto schedule = weft::ParseSchedule(*weft::ParseJson(json), "UTC");
  if (!schedule) {
    state.SkipWithError("invalid schedule");
    return;
  }
  Walk(state, *schedule);
}

void Parse(benchmark::State& state) {
  for (auto _ : state) {
    auto schedule = weft::MakeCronSchedule("0 9-17 * * MON-FRI", "Europe/Berlin");
    benchmark::DoNotOptimize(schedule);
  }
}

}  // namespace

BENCHMARK_CAPTURE(Cron, every_15m_utc, "*/15 * * * *", "UTC");
BENCHMARK_CAPTURE(Cron, every_15m_new_york, "*/15 * * * *", "America/New_York");
BENCHMARK_CAPTURE(Cron, every_second_utc, "* * * * * *", "UTC");
BENCHMARK_CAPTURE(Cron, daily_0230_new_york, "30 2 * * *", "America/New_York");
BENCHMARK_CAPTURE(Cron, business_hours_berlin, "0 9-17 * * MON-FRI", "Europe/Berlin");
BENCHMARK_CAPTURE(Cron, leap_day_or_feb_monday, "0 0 29 2 1", "UTC");
BENCHMARK_CAPTURE(Cron, leap_day_only_berlin, "0 0 29 2 *", "Europe/Berlin");
BENCHMARK_CAPTURE(Cron, last_weekday_new_york, "0 2 LW * *", "America/New_York");
BENCHMARK_CAPTURE(Cron, fifth_friday_lord_howe, "0 0 * * 5#5", "Australia/Lord_Howe");
BENCHMARK_CAPTURE(Cron, never_feb_30, "0 0 30 2 *", "UTC");
BENCHMARK_CAPTURE(Doc, predefined_15m, R"({"kind":"predefined","every":"15m"})");
BENCHMARK_CAPTURE(Doc, predefined_15m_new_york,
                  R"({"kind":"predefined","every":"15m","timezone":"America/New_York"})");
BENCHMARK_CAPTURE(
    Doc, custom_every_between,
    R"({"kind":"custom","every":"30m","between":["08:00","18:00"],"days":["mon-fri"],"timezone":"Europe/Berlin"})");
BENCHMARK_CAPTURE(
    Doc, custom_days_times,
    R"({"kind":"custom","days":["mon","wed","fri"],"times":["09:00","17:30"],"timezone":"Europe/Berlin"})");
BENCHMARK(Parse);

BENCHMARK_MAIN();
