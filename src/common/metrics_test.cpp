// The registry's text exposition: what a Prometheus server reads from /metrics.
#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace weft::metrics {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsTest, CounterWithHelpAndType) {
  Registry r;
  Counter c = r.AddCounter("weft_things_total", "Things that happened.");
  c.Increment();
  c.Increment(2);
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "# HELP weft_things_total Things that happened.")) << text;
  EXPECT_TRUE(Has(text, "# TYPE weft_things_total counter")) << text;
  EXPECT_TRUE(Has(text, "weft_things_total 3")) << text;
}

TEST(MetricsTest, LabelledCounterSeriesAndEscaping) {
  Registry r;
  CounterFamily f = r.AddCounterFamily("weft_runs_total", "Runs.", {"trigger", "status"});
  f.With({"webhook", "succeeded"}).Increment();
  f.With({"webhook", "succeeded"}).Increment();
  f.With({"schedule", "failed"}).Increment();
  f.With({"odd\"value\\", "x\ny"}).Increment();
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "weft_runs_total{status=\"succeeded\",trigger=\"webhook\"} 2")) << text;
  EXPECT_TRUE(Has(text, "weft_runs_total{status=\"failed\",trigger=\"schedule\"} 1")) << text;
  // Quotes, backslashes and newlines in label values are escaped.
  EXPECT_TRUE(Has(text, "weft_runs_total{status=\"x\\ny\",trigger=\"odd\\\"value\\\\\"} 1"))
      << text;
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  Histogram h = r.AddHistogram("weft_lag_seconds", "Lag.", {0.1, 1});
  h.Observe(0.0625);
  h.Observe(0.5);
  h.Observe(0.5);
  h.Observe(7);
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "# TYPE weft_lag_seconds histogram")) << text;
  EXPECT_TRUE(Has(text, "weft_lag_seconds_bucket{le=\"0.1\"} 1")) << text;
  EXPECT_TRUE(Has(text, "weft_lag_seconds_bucket{le=\"1\"} 3")) << text;
  EXPECT_TRUE(Has(text, "weft_lag_seconds_bucket{le=\"+Inf\"} 4")) << text;
  EXPECT_TRUE(Has(text, "weft_lag_seconds_count 4")) << text;
  EXPECT_TRUE(Has(text, "weft_lag_seconds_sum 8.0625")) << text;
}

TEST(MetricsTest, LabelledHistogram) {
  Registry r;
  HistogramFamily f = r.AddHistogramFamily("weft_step_seconds", "Steps.", {"uses"}, {1});
  f.With({"http.request"}).Observe(0.5);
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "weft_step_seconds_bucket{uses=\"http.request\",le=\"1\"} 1")) << text;
  EXPECT_TRUE(Has(text, "weft_step_seconds_count{uses=\"http.request\"} 1")) << text;
}

TEST(MetricsTest, LabelValuesAreBounded) {
  Registry r;
  CounterFamily f = r.AddCounterFamily("weft_codes_total", "Codes.", {"code"});
  for (size_t i = 0; i < kMaxSeries + 50; ++i) f.With({std::to_string(i)}).Increment();
  std::string text = r.Render();
  size_t series = 0;
  for (size_t at = 0; (at = text.find("\nweft_codes_total{", at)) != std::string::npos; ++at)
    ++series;
  EXPECT_EQ(series, kMaxSeries + 1);  // kMaxSeries values, then "other"
  EXPECT_TRUE(Has(text, "weft_codes_total{code=\"other\"} 50")) << text;
}

TEST(MetricsTest, ScrapeHooksSetGaugesAndGoAwayWithTheirHandle) {
  Registry r;
  Gauge g = r.AddGauge("weft_queue", "Queue.");
  int calls = 0;
  {
    ScrapeHook hook = r.OnScrape([&] {
      ++calls;
      g.Set(42);
    });
    EXPECT_TRUE(Has(r.Render(), "weft_queue 42"));
  }
  r.Render();
  EXPECT_EQ(calls, 1);
}

TEST(MetricsTest, DisabledRecordsNothing) {
  Registry r;
  Counter c = r.AddCounter("weft_off_total", "Off.");
  SetEnabled(false);
  c.Increment();
  { ScopedTimer t(r.AddHistogram("weft_off_seconds", "Off.", {1})); }
  SetEnabled(true);
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "weft_off_total 0")) << text;
  EXPECT_TRUE(Has(text, "weft_off_seconds_count 0")) << text;
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  CounterFamily f = r.AddCounterFamily("weft_par_total", "Par.", {"k"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) f.With({t % 2 ? "a" : "b"}).Increment();
    });
  }
  for (auto& t : threads) t.join();
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "weft_par_total{k=\"a\"} 20000")) << text;
  EXPECT_TRUE(Has(text, "weft_par_total{k=\"b\"} 20000")) << text;
}

TEST(MetricsTest, DefaultRegistryHasProcessAndWeftMetrics) {
  Weft();
  std::string text = Default().Render();
  EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos) << text;
  EXPECT_EQ(text.find("\nprocess_resident_memory_bytes 0\n"), std::string::npos) << text;
  EXPECT_TRUE(Has(text, "# TYPE weft_runs_queued gauge")) << text;
  EXPECT_TRUE(Has(text, "# TYPE weft_schedule_fires_total counter")) << text;
  EXPECT_TRUE(Has(text, "# TYPE weft_store_write_seconds histogram")) << text;
}

}  // namespace
}  // namespace weft::metrics
