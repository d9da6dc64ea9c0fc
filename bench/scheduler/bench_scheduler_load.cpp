// bench_scheduler_load: N active flows with per-minute schedules spread over
// the minute (`S * * * * *`, S = i % 60), driven by the real Scheduler over a
// real SqliteStore in a temp dir with the system clock, for a few minutes.
// No workers run: fired runs stay queued. Prints the fire lag (commit time -
// scheduled_for) p50/p99/max, the scheduler's CPU and memory, and a count
// proving no fire time was missed or doubled.
//
//   bench_scheduler_load [--flows 100000] [--minutes 3] [--dir /tmp/...]
// The lag is given for every fire and for the fires due after the load
// (steady state: without the backlog of fires that fell due while loading).
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/events.h"
#include "core/run_service.h"
#include "engine/scheduler.h"
#include "store/sqlite/sqlite_store.h"

using namespace weft;

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long RssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

int64_t Query(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "sql: %s: %s\n", sql.c_str(), sqlite3_errmsg(db));
    std::exit(1);
  }
  int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int flows = 100'000;
  double minutes = 3;
  std::string dir =
      (std::filesystem::temp_directory_path() / ("weft-bench-sched-" + std::to_string(::getpid())))
          .string();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--flows")) flows = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--minutes")) minutes = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
  }
  std::filesystem::remove_all(dir);
  SystemClock clock;
  SqliteOptions options;
  options.data_dir = dir;
  options.clock = &clock;
  auto opened = SqliteStore::Open(options);
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    return 1;
  }
  SqliteStore& store = **opened;

  // Set-up: the flows, active, from 4 threads (the store's group commit).
  auto t0 = std::chrono::steady_clock::now();
  std::atomic<int> next{0};
  std::vector<std::thread> makers;
  for (int t = 0; t < 4; ++t) {
    makers.emplace_back([&] {
      for (int i = next++; i < flows; i = next++) {
        std::string name = "sched-" + std::to_string(i);
        Json schedule = {{"kind", "cron"}, {"cron", std::to_string(i % 60) + " * * * * *"}};
        FlowWrite w{
            name, "", "schedule",
            Json{{"name", name},
                 {"trigger", {{"type", "schedule"}, {"schedule", schedule}}},
                 {"steps",
                  Json::array({{{"id", "a"}, {"uses", "data.set"}, {"with", {{"value", 1}}}}})}},
            ""};
        auto f = store.CreateFlow(w, "");
        if (!f || !store.SetFlowActive(f->id, true)) {
          std::fprintf(stderr, "create flow %d failed\n", i);
          std::exit(1);
        }
      }
    });
  }
  for (auto& t : makers) t.join();
  double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  ChangeHub hub;
  RunService runs(store, hub, clock);
  std::mutex mu;
  std::vector<int64_t> lags;         // ms
  std::vector<int64_t> steady_lags;  // ms, of the fires due after the load: steady state
  std::atomic<int64_t> steady_from_ms{INT64_MAX};
  std::map<int64_t, int64_t> worst_by_second;  // the last fire's lag of each second's fires, ms
  const bool trace_slices = std::getenv("WEFT_BENCH_SECONDS") != nullptr;
  std::map<int64_t, std::set<int64_t>> slices;  // per second, the lags at which its commits landed
  lags.reserve(static_cast<size_t>(flows * (minutes + 1)));
  steady_lags.reserve(static_cast<size_t>(flows * (minutes + 1)));
  SchedulerOptions so;
  so.on_fire = [&](const ScheduleFire& f, TimePoint committed) {
    std::lock_guard<std::mutex> g(mu);
    lags.push_back((committed - f.scheduled_for).count());
    if (trace_slices)
      slices[ToUnixMs(f.scheduled_for) / 1000].insert((committed - f.scheduled_for).count());
    int64_t& worst = worst_by_second[ToUnixMs(f.scheduled_for) / 1000];
    worst = std::max<int64_t>(worst, (committed - f.scheduled_for).count());
    if (ToUnixMs(f.scheduled_for) > steady_from_ms.load())
      steady_lags.push_back((committed - f.scheduled_for).count());
  };
  long rss_before = RssKb();
  double cpu_before = CpuSeconds();
  auto load_start = std::chrono::steady_clock::now();
  TimePoint started = clock.Now();
  Scheduler scheduler(store, runs, hub, clock, so);
  scheduler.Start();
  while (scheduler.ActiveSchedules() < static_cast<size_t>(flows))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  double cpu_loaded = CpuSeconds();
  TimePoint steady_from = clock.Now();
  steady_from_ms = ToUnixMs(steady_from);
  long rss_peak = RssKb();
  auto until = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int64_t>(minutes * 60'000));
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    rss_peak = std::max(rss_peak, RssKb());
  }
  TimePoint stopped_at = clock.Now();
  scheduler.Stop();
  double cpu_run = CpuSeconds() - cpu_loaded;
  double wall_run = std::chrono::duration<double>(stopped_at - steady_from).count();

  std::sort(lags.begin(), lags.end());
  std::sort(steady_lags.begin(), steady_lags.end());
  auto pct_of = [](const std::vector<int64_t>& v, double p) {
    return v.empty() ? -1 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
  };
  auto pct = [&](double p) { return pct_of(lags, p); };

  // Counts straight from the database.
  sqlite3* db = nullptr;
  sqlite3_open_v2((*opened)->db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  int64_t total = Query(db, "SELECT COUNT(*) FROM runs");
  int64_t distinct =
      Query(db, "SELECT COUNT(*) FROM (SELECT DISTINCT flow_id, scheduled_for FROM runs)");
  // Per flow: fires are consecutive minutes (no gap), the flow's next fire is
  // the minute after its last, and every fire time before the stop was fired.
  int64_t gaps = Query(
      db,
      "SELECT COUNT(*) FROM (SELECT flow_id, COUNT(*) n, MIN(scheduled_for) lo, MAX(scheduled_for) "
      "hi "
      "FROM runs GROUP BY flow_id) WHERE (hi - lo) / 60000 + 1 != n OR (hi - lo) % 60000 != 0");
  int64_t unfired =
      Query(db,
            "SELECT COUNT(*) FROM flows f LEFT JOIN schedule_state s ON s.flow_id = f.id "
            "WHERE s.next_run_at IS NULL OR s.next_run_at <= " +
                std::to_string(ToUnixMs(stopped_at) - 1000));
  int64_t wrong_next = Query(
      db,
      "SELECT COUNT(*) FROM schedule_state s JOIN (SELECT flow_id, MAX(scheduled_for) hi FROM runs "
      "GROUP BY flow_id) r ON r.flow_id = s.flow_id WHERE s.next_run_at != r.hi + 60000");
  int64_t late_start = Query(
      db,
      "SELECT COUNT(*) FROM (SELECT flow_id, MIN(scheduled_for) lo FROM runs GROUP BY flow_id) "
      "WHERE lo > " +
          std::to_string(ToUnixMs(started) + (int64_t)(load_s * 1000) + 60'000));
  int64_t with_runs = Query(db, "SELECT COUNT(DISTINCT flow_id) FROM runs");
  int64_t missed = Query(db, "SELECT COALESCE(SUM(missed_fires), 0) FROM schedule_state");
  sqlite3_close(db);

  std::printf("flows %d, per-minute schedules spread over the minute; set-up %.1f s\n", flows,
              setup_s);
  std::printf("scheduler start (load %d schedules): %.2f s, CPU %.2f s\n", flows, load_s,
              cpu_loaded - cpu_before);
  std::printf("steady run: %.1f s wall, scheduler CPU %.2f s (%.1f%% of one core)\n", wall_run,
              cpu_run, 100.0 * cpu_run / wall_run);
  std::printf("memory: RSS %.1f MB before the scheduler, peak %.1f MB (+%.1f MB)\n",
              rss_before / 1024.0, rss_peak / 1024.0, (rss_peak - rss_before) / 1024.0);
  std::printf(
      "fires %zu (%.0f/s); lag commit - scheduled_for: p50 %lld ms, p90 %lld ms, p99 %lld ms, max "
      "%lld ms\n",
      lags.size(), lags.size() / std::max(1.0, wall_run), (long long)pct(0.5), (long long)pct(0.9),
      (long long)pct(0.99), (long long)(lags.empty() ? -1 : lags.back()));
  std::printf(
      "fires due after the load (steady state) %zu; lag p50 %lld ms, p99 %lld ms, max %lld ms\n",
      steady_lags.size(), (long long)pct_of(steady_lags, 0.5), (long long)pct_of(steady_lags, 0.99),
      (long long)(steady_lags.empty() ? -1 : steady_lags.back()));
  {
    std::vector<int64_t> worst;
    for (const auto& [second, ms] : worst_by_second) worst.push_back(ms);
    if (std::getenv("WEFT_BENCH_SECONDS"))
      for (const auto& [second, ms] : worst_by_second) {
        std::printf("  second %lld: last fire %lld ms; commits at",
                    (long long)(second - worst_by_second.begin()->first), (long long)ms);
        for (int64_t at : slices[second]) std::printf(" %lld", (long long)at);
        std::printf("\n");
      }
    std::sort(worst.begin(), worst.end());
    std::printf(
        "seconds with fires %zu; the last fire of a second lags p50 %lld ms, p90 %lld ms, max %lld "
        "ms\n",
        worst.size(), (long long)pct_of(worst, 0.5), (long long)pct_of(worst, 0.9),
        (long long)(worst.empty() ? -1 : worst.back()));
  }
  std::printf("runs %lld, distinct (flow, scheduled_for) %lld -> doubled %lld\n", (long long)total,
              (long long)distinct, (long long)(total - distinct));
  std::printf(
      "flows with runs %lld; with a gap %lld; next fire not after the stop %lld; next != last + 1 "
      "min %lld; "
      "first fire later than a minute after load %lld; missed_fires %lld\n",
      (long long)with_runs, (long long)gaps, (long long)unfired, (long long)wrong_next,
      (long long)late_start, (long long)missed);
  bool ok = total == distinct && gaps == 0 && unfired == 0 && wrong_next == 0 && late_start == 0 &&
            with_runs == flows && missed == 0 && total == static_cast<int64_t>(lags.size());
  std::printf("%s\n", ok ? "OK: no fire missed or doubled" : "FAILED: see the counts above");
  opened->reset();
  std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}
