// The overhead of a connector manifest's action over a hand-written
// http.request doing the same GET, per call, with its spread.
// Usage: bench_manifest_overhead [rounds] [calls per round]
//
// Both run in this process as the executor runs an action (RunAction), against
// an in-process keep-alive server, so only the client side is measured. A
// single long run of each (bench_connectors) drowned the difference in the
// drift of a shared machine; here the two alternate in short rounds (the
// order flipped every round), each round gives one paired difference, and the
// figures are the median and quartiles of those differences, in wall time and
// in the calling thread's CPU time (which other processes' load hardly moves).
#include <curl/curl.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "connectors/http/http.h"
#include "connectors/manifest/manifest.h"
#include "connectors/testing/run_action.h"
#include "tiny_server.h"

namespace {

using Clock = std::chrono::steady_clock;

double ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct Case {
  const weft::ActionCatalog* catalog;
  weft::Connection connection;
  std::string uses;
  weft::Json input;
};

struct Sample {
  double wall_us;  // per call
  double cpu_us;   // per call, this thread
};

Sample Measure(const Case& c, int calls) {
  auto start = Clock::now();
  double cpu0 = ThreadCpuMicros();
  for (int i = 0; i < calls; ++i) {
    auto r = weft::testing::RunAction(*c.catalog, c.uses, c.input, &c.connection);
    if (r.outcome.error) {
      std::fprintf(stderr, "%s failed: %s\n", c.uses.c_str(), r.error().c_str());
      std::exit(1);
    }
  }
  double cpu = ThreadCpuMicros() - cpu0;
  double wall = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  return {wall / calls, cpu / calls};
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

void Row(const char* name, const std::vector<double>& v) {
  std::printf("%-36s %9.1f %9.1f %9.1f %9.1f %9.1f\n", name, Quantile(v, 0.5), Quantile(v, 0.25),
              Quantile(v, 0.75), Quantile(v, 0.05), Quantile(v, 0.95));
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 400;
  int calls = argc > 2 ? std::atoi(argv[2]) : 100;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  weft::bench::TinyServer server;
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  weft::ActionCatalog catalog;
  weft::connectors::RegisterHttp(catalog);
  auto manifest = weft::connectors::manifest::ParseManifest(R"(
name: bench
connection:
  fields: [{name: base_url}]
  base_url: "{{ connection.base_url }}"
actions:
  get: {path: /bench}
)");
  if (!manifest || !weft::connectors::manifest::RegisterManifest(catalog, *manifest)) return 1;
  Case manifest_case{
      &catalog, weft::testing::MakeConnection("bench", {{"base_url", base}}, {{"type", "none"}}),
      "bench.get", weft::Json::object()};
  Case http_case{&catalog, weft::testing::MakeConnection("http", {{"base_url", base}}),
                 "http.request", weft::Json{{"url", "/bench"}}};
  Measure(http_case, 500);  // warm up: connections, caches, the token of nothing
  Measure(manifest_case, 500);

  std::vector<double> http_wall, man_wall, diff_wall, http_cpu, man_cpu, diff_cpu;
  for (int r = 0; r < rounds; ++r) {
    Sample h, m;
    if (r % 2 == 0) {
      h = Measure(http_case, calls);
      m = Measure(manifest_case, calls);
    } else {
      m = Measure(manifest_case, calls);
      h = Measure(http_case, calls);
    }
    http_wall.push_back(h.wall_us);
    man_wall.push_back(m.wall_us);
    diff_wall.push_back(m.wall_us - h.wall_us);
    http_cpu.push_back(h.cpu_us);
    man_cpu.push_back(m.cpu_us);
    diff_cpu.push_back(m.cpu_us - h.cpu_us);
  }
  std::printf("rounds=%d calls/round=%d (GET, 11-byte JSON body, loopback, keep-alive)\n", rounds,
              calls);
  std::printf("%-36s %9s %9s %9s %9s %9s\n", "us per call", "median", "p25", "p75", "p5", "p95");
  Row("http.request, wall", http_wall);
  Row("manifest action, wall", man_wall);
  Row("difference (paired by round), wall", diff_wall);
  Row("http.request, thread CPU", http_cpu);
  Row("manifest action, thread CPU", man_cpu);
  Row("difference (paired by round), CPU", diff_cpu);
  return 0;
}
