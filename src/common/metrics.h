// Metrics: a Prometheus registry (GET /metrics) and the handles every module
// records through, so a module reports without depending on the server.
// Counters, gauges and histograms with fixed buckets, over prometheus-cpp's
// core (whose headers stay inside metrics.cpp). Label values are bounded: a
// labelled family keeps at most kMaxSeries series, and values past that are
// counted under "other". Thread-safe. Recording takes no lock: counters and
// gauges are prometheus-cpp's atomics, histograms our own atomic buckets
// (prometheus-cpp's histogram takes a mutex per observation, which every
// connection thread would share); With() looks the series up under a shared
// lock, so hot paths keep the handle it returns.
//
// SetEnabled(false) (`weft serve --metrics=false`) turns recording off: every
// record call and ScopedTimer then return at once without reading a clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace weft::metrics {

namespace detail {
class AtomicHistogram;  // metrics.cpp: bucket counts and sum as atomics, no lock
}  // namespace detail

inline std::atomic<bool> g_enabled{true};
inline bool Enabled() { return g_enabled.load(std::memory_order_relaxed); }
inline void SetEnabled(bool on) { g_enabled.store(on, std::memory_order_relaxed); }

constexpr size_t kMaxSeries = 200;  // per labelled family

// Handles: cheap to copy; a default-constructed handle records nothing.
class Counter {
 public:
  Counter() = default;
  explicit Counter(prometheus::Counter* c) : c_(c) {}
  void Increment(double by = 1) const;
  double Value() const;  // for tests

 private:
  prometheus::Counter* c_ = nullptr;
};

class Gauge {
 public:
  Gauge() = default;
  explicit Gauge(prometheus::Gauge* g) : g_(g) {}
  void Set(double v) const;

 private:
  prometheus::Gauge* g_ = nullptr;
};

class Histogram {
 public:
  Histogram() = default;
  explicit Histogram(detail::AtomicHistogram* h) : h_(h) {}
  void Observe(double v) const;
  template <typename Rep, typename Period>
  void ObserveDuration(std::chrono::duration<Rep, Period> d) const {
    Observe(std::chrono::duration<double>(d).count());
  }

 private:
  detail::AtomicHistogram* h_ = nullptr;
};

// Observes the time from construction to destruction in seconds (steady clock).
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram h) : h_(h), on_(Enabled()) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~ScopedTimer() {
    if (on_) h_.ObserveDuration(std::chrono::steady_clock::now() - start_);
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Histogram h_;
  bool on_;
  std::chrono::steady_clock::time_point start_{};
};

class Registry;

// A metric with labels: With(values) answers the series for those values, in
// the order the label names were given (created on first use).
class CounterFamily {
 public:
  CounterFamily() = default;
  Counter With(std::initializer_list<std::string_view> values) const;

 private:
  friend class Registry;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

class HistogramFamily {
 public:
  HistogramFamily() = default;
  Histogram With(std::initializer_list<std::string_view> values) const;

 private:
  friend class Registry;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Removes its scrape hook when destroyed (Registry::OnScrape).
class ScrapeHook {
 public:
  ScrapeHook() = default;
  ScrapeHook(Registry* r, uint64_t id) : registry_(r), id_(id) {}
  ScrapeHook(ScrapeHook&& o) noexcept : registry_(o.registry_), id_(o.id_) {
    o.registry_ = nullptr;
  }
  ScrapeHook& operator=(ScrapeHook&& o) noexcept;
  ~ScrapeHook();

 private:
  Registry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering a name twice answers the same metric. Names and label names
  // must be valid Prometheus names (asserted).
  Counter AddCounter(const std::string& name, const std::string& help);
  CounterFamily AddCounterFamily(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names);
  Gauge AddGauge(const std::string& name, const std::string& help);
  Histogram AddHistogram(const std::string& name, const std::string& help,
                         std::vector<double> buckets);
  HistogramFamily AddHistogramFamily(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> buckets);

  // `hook` runs at the start of every Render (from the scraping thread), to
  // set gauges that are read rather than recorded (queue size, memory).
  [[nodiscard]] ScrapeHook OnScrape(std::function<void()> hook);

  // Every metric in the Prometheus text exposition format (version 0.0.4).
  std::string Render();

 private:
  friend class ScrapeHook;
  void RemoveHook(uint64_t id);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The process's registry, the one GET /metrics renders.
Registry& Default();

// The metrics weft records, in Default() (docs/operations.md lists them).
struct WeftMetrics {
  CounterFamily runs_total;        // weft_runs_total{trigger,status}: runs that ended
  Histogram run_duration;          // weft_run_duration_seconds: started to finished
  HistogramFamily step_duration;   // weft_step_duration_seconds{uses}
  Gauge runs_queued;               // weft_runs_queued (read at scrape)
  Gauge oldest_queued_age;         // weft_oldest_queued_run_age_seconds (read at scrape)
  CounterFamily webhook_requests;  // weft_webhook_requests_total{code}
  Counter schedule_fires;          // weft_schedule_fires_total
  Counter schedule_missed;         // weft_schedule_missed_total
  Histogram schedule_lag;          // weft_schedule_lag_seconds: fire time to committed run
  HistogramFamily http_duration;   // weft_http_request_duration_seconds{route}
  Histogram store_write;           // weft_store_write_seconds
  Gauge open_connections;          // weft_http_open_connections (read at scrape)
  Gauge
      scheduler_held;  // weft_scheduler_held: 1 when this node runs the scheduler (read at scrape)
  Counter polls;       // weft_polls_total: polls of poll triggers committed (baselines too)
  Counter poll_failures;  // weft_poll_failures_total: polls that failed (source error)
  Counter poll_items;     // weft_poll_items_total: new items polls emitted
};
const WeftMetrics& Weft();

// Bucket sets (seconds).
const std::vector<double>& DurationBuckets();  // runs and steps: 5 ms .. 1 h
const std::vector<double>& LatencyBuckets();   // HTTP and schedule lag: 0.5 ms .. 60 s
const std::vector<double>& StoreBuckets();     // store writes: 50 us .. 5 s

}  // namespace weft::metrics
