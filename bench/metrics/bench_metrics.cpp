// The cost of one recording, on one thread and on several at once sharing
// the same series (as every connection thread shares a route's histogram).
// An accepted webhook whose 2-step run executes records: one HTTP duration,
// one webhook code, two step durations, one run count and one run duration,
// and its share of store write timings (a handful of ScopedTimers).
#include <benchmark/benchmark.h>

#include "common/metrics.h"

namespace weft::metrics {
namespace {

Registry& R() {
  static Registry r;
  return r;
}

void BM_CounterIncrement(benchmark::State& state) {
  static Counter c = R().AddCounter("bench_counter_total", "c");
  for (auto _ : state) c.Increment();
}
BENCHMARK(BM_CounterIncrement)->Threads(1)->Threads(4);

void BM_HistogramObserve(benchmark::State& state) {
  static Histogram h = R().AddHistogram("bench_seconds", "h", LatencyBuckets());
  double v = 0.003;
  for (auto _ : state) h.Observe(v);
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(4);

void BM_ScopedTimer(benchmark::State& state) {
  static Histogram h = R().AddHistogram("bench_timer_seconds", "h", StoreBuckets());
  for (auto _ : state) {
    ScopedTimer t(h);
  }
}
BENCHMARK(BM_ScopedTimer)->Threads(1)->Threads(4);

// A labelled series found per call (the executor's step duration by `uses`).
void BM_FamilyWithThenObserve(benchmark::State& state) {
  static HistogramFamily f =
      R().AddHistogramFamily("bench_step_seconds", "f", {"uses"}, DurationBuckets());
  for (auto _ : state) f.With({"data.set"}).Observe(0.001);
}
BENCHMARK(BM_FamilyWithThenObserve)->Threads(1)->Threads(4);

void BM_CounterFamilyWithTwoLabels(benchmark::State& state) {
  static CounterFamily f = R().AddCounterFamily("bench_runs_total", "f", {"trigger", "status"});
  for (auto _ : state) f.With({"webhook", "succeeded"}).Increment();
}
BENCHMARK(BM_CounterFamilyWithTwoLabels)->Threads(1)->Threads(4);

// Off (--metrics=false): what every call site pays then.
void BM_DisabledObserve(benchmark::State& state) {
  static Histogram h = R().AddHistogram("bench_off_seconds", "h", LatencyBuckets());
  SetEnabled(false);
  for (auto _ : state) h.Observe(0.003);
  SetEnabled(true);
}
BENCHMARK(BM_DisabledObserve);

void BM_Render(benchmark::State& state) {
  Weft();
  for (auto _ : state) benchmark::DoNotOptimize(Default().Render());
}
BENCHMARK(BM_Render);

}  // namespace
}  // namespace weft::metrics

BENCHMARK_MAIN();
