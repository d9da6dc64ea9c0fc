// http.request steps per second against a local HTTP server, with connection
// reuse on and off, and the latency http.request adds over a plain libcurl
// loop doing the same GET. Usage: bench_connectors [requests] [threads].
// The server is a minimal keep-alive HTTP/1.1 responder in this process, so
// the figures measure the client side.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "connectors/http/http.h"
#include "connectors/manifest/manifest.h"
#include "connectors/testing/run_action.h"
#include "tiny_server.h"

namespace {

using weft::bench::TinyServer;
using Clock = std::chrono::steady_clock;

size_t Discard(char*, size_t s, size_t n, void*) { return s * n; }

struct Figure {
  double per_second;
  double micros_per_request;
};

template <typename Fn>
Figure Run(int requests, int threads, Fn fn) {
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      auto state = fn.Start();
      while (next.fetch_add(1) < requests) fn.One(state);
    });
  for (auto& t : pool) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return {requests / secs, secs * 1e6 * threads / requests};
}

// A plain libcurl loop: one easy handle per thread (reuse) or a new one per request.
struct PlainCurl {
  std::string url;
  bool reuse;
  struct State {
    CURL* h = nullptr;
  };
  State Start() const { return State{reuse ? curl_easy_init() : nullptr}; }
  void One(State& s) const {
    CURL* h = reuse ? s.h : curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!reuse) curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    if (curl_easy_perform(h) != CURLE_OK) std::fprintf(stderr, "curl failed\n");
    if (!reuse) curl_easy_cleanup(h);
  }
};

struct Step {
  const weft::ActionCatalog* catalog;
  weft::Connection connection;
  std::string uses = "http.request";
  weft::Json input = weft::Json{{"url", "/bench"}};
  struct State {};
  State Start() const { return {}; }
  void One(State&) const {
    auto r = weft::testing::RunAction(*catalog, uses, input, &connection);
    if (r.outcome.error) std::fprintf(stderr, "step failed: %s\n", r.error().c_str());
  }
};

}  // namespace

int main(int argc, char** argv) {
  int requests = argc > 1 ? std::atoi(argv[1]) : 5000;
  int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  TinyServer server;
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  weft::ActionCatalog catalog;
  weft::connectors::RegisterHttp(catalog);
  // The same GET as a connector manifest's action (connectors/manifest/).
  auto manifest = weft::connectors::manifest::ParseManifest(R"(
name: bench
connection:
  fields: [{name: base_url}]
  base_url: "{{ connection.base_url }}"
actions:
  get: {path: /bench}
)");
  if (!manifest || !weft::connectors::manifest::RegisterManifest(catalog, *manifest)) return 1;
  weft::Connection manifest_conn =
      weft::testing::MakeConnection("bench", {{"base_url", base}}, {{"type", "none"}});
  Step manifest_step{&catalog, manifest_conn, "bench.get", weft::Json::object()};
  auto conn = [&](bool keep_alive) {
    return weft::testing::MakeConnection("http", {{"base_url", base}, {"keep_alive", keep_alive}});
  };
  // Warm up.
  Run(200, 1, Step{&catalog, conn(true)});
  Run(200, 1, manifest_step);
  Run(200, 1, PlainCurl{base + "/bench", true});

  std::printf("requests=%d threads=%d (GET, 11-byte JSON body, loopback)\n", requests, threads);
  std::printf("%-38s %12s %14s\n", "case", "requests/s", "us/request");
  auto row = [](const char* name, Figure f) {
    std::printf("%-38s %12.0f %14.1f\n", name, f.per_second, f.micros_per_request);
  };
  Figure plain_reuse = Run(requests, threads, PlainCurl{base + "/bench", true});
  row("plain libcurl, keep-alive", plain_reuse);
  Figure step_reuse = Run(requests, threads, Step{&catalog, conn(true)});
  row("http.request, keep-alive (default)", step_reuse);
  Figure manifest_reuse = Run(requests, threads, manifest_step);
  row("manifest action (bench.get), keep-alive", manifest_reuse);
  Figure plain_fresh = Run(requests, threads, PlainCurl{base + "/bench", false});
  row("plain libcurl, new connection each", plain_fresh);
  Figure step_fresh = Run(requests, threads, Step{&catalog, conn(false)});
  row("http.request, keep_alive: false", step_fresh);
  std::printf(
      "added latency of http.request over plain libcurl: %.1f us (keep-alive), %.1f us (no "
      "reuse)\n",
      step_reuse.micros_per_request - plain_reuse.micros_per_request,
      step_fresh.micros_per_request - plain_fresh.micros_per_request);
  std::printf("added latency of a manifest action over http.request: %.1f us (keep-alive)\n",
              manifest_reuse.micros_per_request - step_reuse.micros_per_request);
  return 0;
}
