// The registry over prometheus-cpp's core: its Family/Counter/Gauge and its
// text serializer, plus histograms of our own (atomic buckets, no lock). Only
// this file includes prometheus headers.
#include "common/metrics.h"

#include <dirent.h>
#include <prometheus/client_metric.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <unordered_map>

namespace weft::metrics {

// ---- handles --------------------------------------------------------------------

void Counter::Increment(double by) const {
  if (c_ && Enabled()) c_->Increment(by);
}
double Counter::Value() const { return c_ ? c_->Value() : 0; }

void Gauge::Set(double v) const {
  if (g_ && Enabled()) g_->Set(v);
}

namespace detail {

// Bucket counts and the sum as atomics: Observe takes no lock, so threads
// that share a series (every connection on one route) never wait for each
// other. A scrape reads each atomic once; count and sum may be one
// observation apart, which Prometheus tolerates.
class AtomicHistogram {
 public:
  AtomicHistogram(const std::vector<double>& bounds,
                  std::vector<prometheus::ClientMetric::Label> labels)
      : bounds_(bounds), counts_(bounds.size() + 1), labels_(std::move(labels)) {}

  void Observe(double v) {
    size_t i =
        static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    double old = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
    }
  }

  prometheus::ClientMetric Collect() const {
    prometheus::ClientMetric m;
    m.label = labels_;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      cumulative += counts_[i].load(std::memory_order_relaxed);
      prometheus::ClientMetric::Bucket b;
      b.cumulative_count = cumulative;
      b.upper_bound = i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back(b);
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = sum_.load(std::memory_order_relaxed);
    return m;
  }

 private:
  const std::vector<double> bounds_;
  std::vector<std::atomic<uint64_t>> counts_;  // one per bound, then +Inf
  std::atomic<double> sum_{0};
  const std::vector<prometheus::ClientMetric::Label> labels_;
};

}  // namespace detail

void Histogram::Observe(double v) const {
  if (h_ && Enabled()) h_->Observe(v);
}

// ---- labelled families ------------------------------------------------------------

namespace {

// Series of one labelled family, found by their values joined with \x1f.
template <typename T>
struct SeriesMap {
  prometheus::Family<T>* family = nullptr;
  std::vector<std::string> names;
  std::shared_mutex mu;
  std::unordered_map<std::string, T*> series;

  T* Find(std::initializer_list<std::string_view> values) {
    assert(values.size() == names.size() && "label values do not match the label names");
    std::string key;
    for (auto v : values) {
      key.append(v);
      key.push_back('\x1f');
    }
    {
      std::shared_lock lock(mu);
      auto it = series.find(key);
      if (it != series.end()) return it->second;
    }
    std::unique_lock lock(mu);
    auto it = series.find(key);
    if (it != series.end()) return it->second;
    prometheus::Labels labels;
    if (series.size() >= kMaxSeries) {
      // Bounded: a value never seen before, past the cap, counts as "other".
      for (const auto& n : names) labels[n] = "other";
      key = "\x1eother";
      it = series.find(key);
      if (it != series.end()) return it->second;
    } else {
      size_t i = 0;
      for (auto v : values) labels[names[i++]] = std::string(v);
    }
    T* added = &family->Add(labels);
    series.emplace(std::move(key), added);
    return added;
  }
};

}  // namespace

struct CounterFamily::Impl : SeriesMap<prometheus::Counter> {};
struct HistogramFamily::Impl {
  std::string name;
  std::string help;
  std::vector<std::string> names;
  std::vector<double> buckets;
  std::shared_mutex mu;
  std::unordered_map<std::string, std::unique_ptr<detail::AtomicHistogram>> series;

  // As SeriesMap::Find: bounded, "other" past kMaxSeries.
  detail::AtomicHistogram* Find(std::initializer_list<std::string_view> values) {
    assert(values.size() == names.size() && "label values do not match the label names");
    std::string key;
    for (auto v : values) {
      key.append(v);
      key.push_back('\x1f');
    }
    {
      std::shared_lock lock(mu);
      auto it = series.find(key);
      if (it != series.end()) return it->second.get();
    }
    std::unique_lock lock(mu);
    auto it = series.find(key);
    if (it != series.end()) return it->second.get();
    std::map<std::string, std::string> sorted;  // labels by name, as prometheus-cpp prints them
    if (series.size() >= kMaxSeries && !names.empty()) {
      for (const auto& n : names) sorted[n] = "other";
      key = "\x1eother";
      it = series.find(key);
      if (it != series.end()) return it->second.get();
    } else {
      size_t i = 0;
      for (auto v : values) sorted[names[i++]] = std::string(v);
    }
    std::vector<prometheus::ClientMetric::Label> labels;
    for (auto& [n, v] : sorted) labels.push_back({n, v});
    auto added = std::make_unique<detail::AtomicHistogram>(buckets, std::move(labels));
    auto* raw = added.get();
    series.emplace(std::move(key), std::move(added));
    return raw;
  }

  prometheus::MetricFamily Collect() {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = prometheus::MetricType::Histogram;
    std::shared_lock lock(mu);
    for (const auto& [key, h] : series) f.metric.push_back(h->Collect());
    std::sort(f.metric.begin(), f.metric.end(),
              [](const auto& a, const auto& b) { return a.label < b.label; });
    return f;
  }
};

Counter CounterFamily::With(std::initializer_list<std::string_view> values) const {
  if (!impl_ || !Enabled()) return Counter();
  return Counter(impl_->Find(values));
}

Histogram HistogramFamily::With(std::initializer_list<std::string_view> values) const {
  if (!impl_ || !Enabled()) return Histogram();
  return Histogram(impl_->Find(values));
}

// ---- the registry -------------------------------------------------------------------

struct Registry::Impl {
  prometheus::Registry registry;
  std::mutex mu;  // families by name, hooks
  std::map<std::string, prometheus::Counter*> counters;
  std::map<std::string, prometheus::Gauge*> gauges;
  std::map<std::string, std::shared_ptr<CounterFamily::Impl>> counter_families;
  std::map<std::string, std::shared_ptr<HistogramFamily::Impl>> histogram_families;
  std::map<uint64_t, std::function<void()>> hooks;
  uint64_t next_hook = 1;
  std::mutex render_mu;  // one scrape at a time: hooks set shared gauges
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Counter Registry::AddCounter(const std::string& name, const std::string& help) {
  std::lock_guard lock(impl_->mu);
  auto& c = impl_->counters[name];
  if (!c) c = &prometheus::BuildCounter().Name(name).Help(help).Register(impl_->registry).Add({});
  return Counter(c);
}

CounterFamily Registry::AddCounterFamily(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names) {
  std::lock_guard lock(impl_->mu);
  auto& f = impl_->counter_families[name];
  if (!f) {
    f = std::make_shared<CounterFamily::Impl>();
    f->family = &prometheus::BuildCounter().Name(name).Help(help).Register(impl_->registry);
    f->names = std::move(label_names);
  }
  CounterFamily out;
  out.impl_ = f;
  return out;
}

Gauge Registry::AddGauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(impl_->mu);
  auto& g = impl_->gauges[name];
  if (!g) g = &prometheus::BuildGauge().Name(name).Help(help).Register(impl_->registry).Add({});
  return Gauge(g);
}

Histogram Registry::AddHistogram(const std::string& name, const std::string& help,
                                 std::vector<double> buckets) {
  HistogramFamily f = AddHistogramFamily(name, help, {}, std::move(buckets));
  return Histogram(f.impl_->Find({}));  // the one series, there from the first scrape
}

HistogramFamily Registry::AddHistogramFamily(const std::string& name, const std::string& help,
                                             std::vector<std::string> label_names,
                                             std::vector<double> buckets) {
  std::lock_guard lock(impl_->mu);
  auto& f = impl_->histogram_families[name];
  if (!f) {
    f = std::make_shared<HistogramFamily::Impl>();
    f->name = name;
    f->help = help;
    f->names = std::move(label_names);
    f->buckets = std::move(buckets);
  }
  HistogramFamily out;
  out.impl_ = f;
  return out;
}

ScrapeHook Registry::OnScrape(std::function<void()> hook) {
  std::lock_guard lock(impl_->mu);
  uint64_t id = impl_->next_hook++;
  impl_->hooks.emplace(id, std::move(hook));
  return ScrapeHook(this, id);
}

void Registry::RemoveHook(uint64_t id) {
  // Waits for a scrape in progress, which may be running this very hook.
  std::lock_guard render(impl_->render_mu);
  std::lock_guard lock(impl_->mu);
  impl_->hooks.erase(id);
}

std::string Registry::Render() {
  std::lock_guard render(impl_->render_mu);
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [id, h] : impl_->hooks) hooks.push_back(h);
  }
  for (const auto& h : hooks) h();
  std::vector<prometheus::MetricFamily> families = impl_->registry.Collect();
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [name, f] : impl_->histogram_families) {
      auto family = f->Collect();
      if (!family.metric.empty()) families.push_back(std::move(family));
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return std::move(out).str();
}

ScrapeHook& ScrapeHook::operator=(ScrapeHook&& o) noexcept {
  if (this != &o) {
    if (registry_) registry_->RemoveHook(id_);
    registry_ = o.registry_;
    id_ = o.id_;
    o.registry_ = nullptr;
  }
  return *this;
}

ScrapeHook::~ScrapeHook() {
  if (registry_) registry_->RemoveHook(id_);
}

// ---- weft's metrics ------------------------------------------------------------------

const std::vector<double>& DurationBuckets() {
  static const std::vector<double> k = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                        2.5,   5,    10,    30,   60,  300,  900, 3600};
  return k;
}
const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> k = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
  return k;
}
const std::vector<double>& StoreBuckets() {
  static const std::vector<double> k = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                        0.01,    0.025,  0.05,    0.1,    0.25,  1,      5};
  return k;
}

namespace {

// process_* from /proc/self, as Prometheus's own clients name them.
struct ProcessMetrics {
  Gauge resident;
  Gauge virtual_bytes;
  Gauge open_fds;
  Gauge start_time;
  Counter cpu;
  double cpu_seen = 0;
  ScrapeHook hook;

  void Read() {
    long page = sysconf(_SC_PAGESIZE);
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      unsigned long size = 0, rss = 0;
      if (std::fscanf(f, "%lu %lu", &size, &rss) == 2) {
        virtual_bytes.Set(static_cast<double>(size) * page);
        resident.Set(static_cast<double>(rss) * page);
      }
      std::fclose(f);
    }
    if (DIR* d = opendir("/proc/self/fd")) {
      int n = 0;
      while (struct dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') ++n;
      }
      closedir(d);
      open_fds.Set(n - 1);  // less the one opendir holds
    }
    // /proc/self/stat: utime and stime (fields 14, 15) in clock ticks, after the ")" of comm.
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t close = text.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(text.substr(close + 2));
      std::string field;
      double utime = 0, stime = 0;
      for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stod(field);
        if (i == 15) stime = std::stod(field);
      }
      double cpu_now = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
      if (cpu_now > cpu_seen) {
        cpu.Increment(cpu_now - cpu_seen);
        cpu_seen = cpu_now;
      }
    }
  }
};

}  // namespace

Registry& Default() {
  // Never destroyed: detached connection threads may still record while the
  // process exits.
  static Registry* registry = [] {
    auto* r = std::make_unique<Registry>().release();
    auto* p = std::make_unique<ProcessMetrics>().release();
    p->resident = r->AddGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
    p->virtual_bytes = r->AddGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
    p->open_fds = r->AddGauge("process_open_fds", "Number of open file descriptors.");
    p->start_time = r->AddGauge("process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.");
    p->cpu = r->AddCounter("process_cpu_seconds_total",
                           "Total user and system CPU time spent in seconds.");
    p->start_time.Set(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    p->hook = r->OnScrape([p] { p->Read(); });
    return r;
  }();
  return *registry;
}

const WeftMetrics& Weft() {
  static const WeftMetrics m = [] {
    Registry& r = Default();
    WeftMetrics w;
    w.runs_total =
        r.AddCounterFamily("weft_runs_total", "Runs that ended, by trigger type and final status.",
                           {"trigger", "status"});
    w.run_duration = r.AddHistogram("weft_run_duration_seconds",
                                    "Time from a run's start to its end.", DurationBuckets());
    w.step_duration =
        r.AddHistogramFamily("weft_step_duration_seconds",
                             "Time from a step's start to its end (retries included), by action.",
                             {"uses"}, DurationBuckets());
    w.runs_queued = r.AddGauge("weft_runs_queued", "Runs waiting for a worker (status queued).");
    w.oldest_queued_age = r.AddGauge("weft_oldest_queued_run_age_seconds",
                                     "Age of the oldest queued run; 0 when none is queued.");
    w.webhook_requests =
        r.AddCounterFamily("weft_webhook_requests_total",
                           "Requests to /hooks/, by the HTTP status answered.", {"code"});
    w.schedule_fires = r.AddCounter("weft_schedule_fires_total",
                                    "Schedule fires that started (or skipped) a run.");
    w.schedule_missed =
        r.AddCounter("weft_schedule_missed_total",
                     "Fire times missed (weft was down or too late), by misfire rule or not.");
    w.schedule_lag =
        r.AddHistogram("weft_schedule_lag_seconds",
                       "Time from a fire time to its run being committed.", LatencyBuckets());
    w.http_duration = r.AddHistogramFamily("weft_http_request_duration_seconds",
                                           "Time to answer an HTTP request, by route template.",
                                           {"route"}, LatencyBuckets());
    w.store_write = r.AddHistogram("weft_store_write_seconds",
                                   "Time of one store write transaction.", StoreBuckets());
    w.open_connections = r.AddGauge("weft_http_open_connections", "HTTP connections open now.");
    w.scheduler_held =
        r.AddGauge("weft_scheduler_held", "1 when this node runs the scheduler now, else 0.");
    w.polls = r.AddCounter("weft_polls_total", "Polls of poll triggers that committed.");
    w.poll_failures = r.AddCounter("weft_poll_failures_total",
                                   "Polls of poll triggers that failed (the source's error).");
    w.poll_items = r.AddCounter("weft_poll_items_total",
                                "New items poll triggers emitted (each started or joined a run).");
    return w;
  }();
  return m;
}

}  // namespace weft::metrics
