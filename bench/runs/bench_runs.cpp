// bench_runs: run throughput figures, printed. Starts `weft serve` on a temp data
// dir (once per SQLite synchronous setting) and measures, over real HTTP:
//   (a) manual runs of a 3-step data.set flow completed per second, default workers
//   (b) p50/p99 latency of POST /flows/{id}/runs?wait=30s, one request at a time
//   (c) per-step executor overhead: a 40-step flow against a 1-step flow
//   (d) VmRSS of the idle server and after the runs of (a) (10,000 with normal)
// Usage: bench_runs [--weft PATH] [--sync normal,full] [--runs N] [--clients N]
#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef WEFT_BINARY
#define WEFT_BINARY "build/weft"
#endif

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

size_t Collect(char* d, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(d, s * n);
  return s * n;
}

// One keep-alive connection's worth of client.
class Http {
 public:
  explicit Http(std::string base) : base_(std::move(base)), c_(curl_easy_init()) {}
  ~Http() { curl_easy_cleanup(c_); }
  long Call(const std::string& method, const std::string& path, const std::string& body,
            std::string* out) {
    out->clear();
    curl_easy_setopt(c_, CURLOPT_URL, (base_ + path).c_str());
    curl_easy_setopt(c_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c_, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(c_, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c_, CURLOPT_TCP_NODELAY, 1L);
    if (method == "POST" || method == "PUT") {
      curl_easy_setopt(c_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(c_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    } else {
      curl_easy_setopt(c_, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(c_, CURLOPT_CUSTOMREQUEST, nullptr);
    }
    curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c_, CURLOPT_HTTPHEADER, h);
    long status = 0;
    if (curl_easy_perform(c_) == CURLE_OK) curl_easy_getinfo(c_, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
  }
  Json CallJson(const std::string& method, const std::string& path, const std::string& body,
                long* status) {
    std::string out;
    *status = Call(method, path, body, &out);
    return Json::parse(out, nullptr, false);
  }

 private:
  std::string base_;
  CURL* c_;
};

struct Server {
  pid_t pid = -1;
  std::string base;
  std::string dir;
};

Server Start(const std::string& weft, const std::string& sync) {
  Server s;
  char tmpl[] = "/tmp/weft-bench-XXXXXX";
  s.dir = mkdtemp(tmpl);
  int out[2];
  if (pipe(out) != 0) std::exit(1);
  s.pid = fork();
  if (s.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    std::string data = s.dir + "/data";
    execl(weft.c_str(), weft.c_str(), "serve", "--listen", "127.0.0.1:0", "--data", data.c_str(),
          "--sqlite-sync", sync.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char c;
  auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    if (read(out[0], &c, 1) != 1) break;
    if (c != '\n') {
      line += c;
      continue;
    }
    if (auto at = line.find("listening on "); at != std::string::npos) {
      s.base = line.substr(at + 13);
      break;
    }
    line.clear();
  }
  if (s.base.empty()) {
    std::cerr << "weft did not start (" << weft << ")\n";
    std::exit(1);
  }
  Http h(s.base);
  std::string body;
  while (h.Call("GET", "/healthz", "", &body) != 200) std::this_thread::sleep_for(20ms);
  return s;
}

void StopServer(Server& s) {
  kill(s.pid, SIGTERM);
  int st;
  waitpid(s.pid, &st, 0);
  std::error_code ec;
  std::filesystem::remove_all(s.dir, ec);
}

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::string FlowDoc(const std::string& name, int steps) {
  Json doc{{"name", name}, {"steps", Json::array()}};
  doc["steps"].push_back({{"id", "s0"}, {"uses", "data.set"}, {"with", {{"value", {{"n", 1}}}}}});
  for (int i = 1; i < steps; ++i) {
    std::string prev = "s" + std::to_string(i - 1);
    doc["steps"].push_back({{"id", "s" + std::to_string(i)},
                            {"uses", "data.set"},
                            {"with", {{"value", "{{ steps." + prev + ".output }}"}}}});
  }
  return doc.dump();
}

std::string CreateFlow(Http& h, const std::string& name, int steps) {
  long status;
  Json f = h.CallJson("POST", "/api/v1/flows", FlowDoc(name, steps), &status);
  if (status != 201) {
    std::cerr << "create flow: HTTP " << status << " " << f.dump() << "\n";
    std::exit(1);
  }
  return f["id"];
}

// Counts runs of a flow with a status, following cursors.
size_t CountRuns(Http& h, const std::string& flow_id, const std::string& status) {
  size_t n = 0;
  std::string cursor;
  do {
    long code;
    std::string path = "/api/v1/runs?limit=1000&flow_id=" + flow_id + "&status=" + status;
    if (!cursor.empty()) path += "&cursor=" + cursor;
    Json page = h.CallJson("GET", path, "", &code);
    if (code != 200 || !page.is_object()) return n;
    n += page["runs"].size();
    cursor = page["next_cursor"].is_string() ? page["next_cursor"].get<std::string>() : "";
  } while (!cursor.empty());
  return n;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void Bench(const std::string& weft, const std::string& sync, int runs, int clients) {
  Server s = Start(weft, sync);
  std::this_thread::sleep_for(1s);  // let start-up settle before reading the idle figure
  long idle_kb = RssKb(s.pid);
  Http h(s.base);
  const std::string label = " [synchronous=" + sync + "]";

  // (a) throughput
  std::string flow3 = CreateFlow(h, "bench-3", 3);
  std::atomic<int> next{0}, accepted{0}, refused{0};
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      Http mine(s.base);
      std::string out;
      while (next.fetch_add(1) < runs) {
        if (mine.Call("POST", "/api/v1/flows/" + flow3 + "/runs", "{}", &out) == 202)
          accepted++;
        else
          refused++;
      }
    });
  }
  for (auto& t : threads) t.join();
  auto t_acked = Clock::now();
  size_t done = 0;
  while (true) {
    done = CountRuns(h, flow3, "succeeded") + CountRuns(h, flow3, "failed");
    if (done >= static_cast<size_t>(accepted.load())) break;
    std::this_thread::sleep_for(100ms);
  }
  auto t_done = Clock::now();
  double secs = std::chrono::duration<double>(t_done - t0).count();
  double ack_secs = std::chrono::duration<double>(t_acked - t0).count();
  long after_kb = RssKb(s.pid);
  std::printf(
      "(a) manual runs, 3-step data.set flow, default workers: %d runs in %.2fs = %.0f runs/s "
      "completed "
      "(acknowledged at %.0f/s by %d clients; %d refused)%s\n",
      accepted.load(), secs, accepted.load() / secs, accepted.load() / ack_secs, clients,
      refused.load(), label.c_str());

  // (b) ?wait latency, one at a time on a keep-alive connection
  std::vector<double> lat;
  for (int i = 0; i < 300; ++i) {
    std::string out;
    auto a = Clock::now();
    long code = h.Call("POST", "/api/v1/flows/" + flow3 + "/runs?wait=30s", "{}", &out);
    auto b = Clock::now();
    if (code == 200) lat.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::printf("(b) POST /runs?wait latency, 3 steps, sequential x%zu: p50 %.2f ms, p99 %.2f ms%s\n",
              lat.size(), Percentile(lat, 0.5), Percentile(lat, 0.99), label.c_str());

  // (c) per-step overhead: (40-step wall time - 1-step wall time) / 39, and the server's own
  // duration.
  std::string flow40 = CreateFlow(h, "bench-40", 40);
  std::string flow1 = CreateFlow(h, "bench-1", 1);
  auto wall = [&](const std::string& id, int n, double* server_ms) {
    std::vector<double> w, srv;
    for (int i = 0; i < n; ++i) {
      long code;
      auto a = Clock::now();
      Json run = h.CallJson("POST", "/api/v1/flows/" + id + "/runs?wait=30s", "{}", &code);
      auto b = Clock::now();
      if (code != 200) continue;
      w.push_back(std::chrono::duration<double, std::micro>(b - a).count());
      if (run.contains("duration_ms") && run["duration_ms"].is_number())
        srv.push_back(run["duration_ms"].get<double>());
    }
    double sum = 0;
    for (double v : srv) sum += v;
    *server_ms = srv.empty() ? 0 : sum / srv.size();  // mean: the ms resolution averages out
    return Percentile(w, 0.5);
  };
  double srv40, srv1;
  double w1 = wall(flow1, 100, &srv1);
  double w40 = wall(flow40, 100, &srv40);
  std::printf(
      "(c) per-step executor overhead, each step committed: %.0f us/step from the runs' own times "
      "(mean run: 40 steps %.2f ms, 1 step %.2f ms); over HTTP ?wait %.0f us/step (median wall: 40 "
      "steps "
      "%.2f ms, 1 step %.2f ms)%s\n",
      (srv40 - srv1) * 1000 / 39.0, srv40, srv1, (w40 - w1) / 39.0, w40 / 1000, w1 / 1000,
      label.c_str());

  std::printf("(d) VmRSS: idle %.1f MB; after %d runs %.1f MB; after all of the above %.1f MB%s\n",
              idle_kb / 1024.0, accepted.load(), after_kb / 1024.0, RssKb(s.pid) / 1024.0,
              label.c_str());
  std::fflush(stdout);
  StopServer(s);
}

}  // namespace

int main(int argc, char** argv) {
  std::string weft = WEFT_BINARY;
  std::string syncs = "normal,full";
  int runs = 0;
  int clients = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--weft")
      weft = argv[i + 1];
    else if (a == "--sync")
      syncs = argv[i + 1];
    else if (a == "--runs")
      runs = std::stoi(argv[i + 1]);
    else if (a == "--clients")
      clients = std::stoi(argv[i + 1]);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  signal(SIGPIPE, SIG_IGN);
  std::printf("bench_runs: weft at %s, %u CPUs\n", weft.c_str(),
              std::thread::hardware_concurrency());
  std::stringstream ss(syncs);
  std::string sync;
  while (std::getline(ss, sync, ',')) {
    int n = runs > 0 ? runs : (sync == "full" ? 2000 : 10000);
    Bench(weft, sync, n, clients);
  }
  return 0;
}
