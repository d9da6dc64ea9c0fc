// The HTTP layer under slow and idle clients: the real binary on
// port 0, raw sockets for the clients curl cannot play (slow heads, silent
// connections, a thousand streams at once). No timing asserts: every wait is
// on a condition with a generous deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "harness.h"

namespace weft::itest {
namespace {

// Enough open files for the thousands of sockets below.
void RaiseOpenFiles() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

int PortOf(const std::string& base_url) {
  return std::stoi(base_url.substr(base_url.rfind(':') + 1));
}

// A blocking TCP connection to 127.0.0.1:port, or -1.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads until the peer closes (or `timeout`): what was read, and whether it closed.
struct ReadResult {
  std::string data;
  bool closed = false;
};
ReadResult ReadUntilClosed(int fd, std::chrono::milliseconds timeout) {
  ReadResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      return r;
    }
    r.data.append(buf, static_cast<size_t>(n));
  }
  return r;
}

// Reads until `needle` has arrived; false when the peer closed first or `timeout` passed.
bool ReadUntilContains(int fd, const std::string& needle, std::chrono::milliseconds timeout) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<size_t>(n));
    if (data.find(needle) != std::string::npos) return true;
  }
  return false;
}

// Sends one request on a fresh connection and reads the answer to the end
// (`Connection: close`).
std::string RawExchange(int port, const std::string& request) {
  int fd = Connect(port);
  if (fd < 0) return "";
  SendAll(fd, request);
  std::string out = ReadUntilClosed(fd, 60s).data;
  close(fd);
  return out;
}

int ThreadsOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("Threads:")) return std::stoi(line.substr(8));
  return -1;
}

Json WebhookFlow(const Client& api) {
  Json flow = CreateFlow(
      api, Json{{"name", UniqueName("http-hook")},
                {"trigger", {{"type", "webhook"}}},
                {"steps", Json::array({Json{{"id", "echo"},
                                            {"uses", "data.set"},
                                            {"with", {{"value", "{{ trigger.body.x }}"}}}}})}});
  EXPECT_EQ(api.Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status, 200);
  return flow;
}

std::string HookPath(const Json& flow) {
  std::string url = flow.value("webhook_url", "");
  return url.substr(url.find("/hooks/"));
}

// Many clients that send a request head a line at a time, never finishing it.
class SlowClients {
 public:
  SlowClients(int port, int n) {
    for (int i = 0; i < n; ++i) {
      int fd = Connect(port);
      if (fd < 0) break;
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fds_.push_back(fd);
      send(fd, "GET /healthz HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
    }
  }
  ~SlowClients() {
    for (int fd : fds_) close(fd);
  }
  size_t size() const { return fds_.size(); }
  // One more header line on each connection; returns how many took it.
  size_t Drip(int round) {
    std::string line = "X-Slow-" + std::to_string(round) + ": 1\r\n";
    size_t ok = 0;
    for (int fd : fds_)
      if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size()))
        ++ok;
    return ok;
  }

 private:
  std::vector<int> fds_;
};

TEST(HttpLayer, SlowHeadsDoNotStarveOtherClients) {
  RaiseOpenFiles();
  WeftServer server({"--header-timeout", "5m"});
  const Client& api = server.api();
  Json flow = WebhookFlow(api);
  int port = PortOf(server.base_url());

  SlowClients slow(port, 2000);
  ASSERT_EQ(slow.size(), 2000u);
  // While 2,000 heads trickle in a line at a time, others are served.
  for (int round = 0; round < 5; ++round) {
    EXPECT_EQ(slow.Drip(round), 2000u) << "a slow client was cut off before its head deadline";
    auto health = api.Get("/healthz");
    EXPECT_EQ(health.status, 200) << health.error;
    auto hook = api.PostRaw(HookPath(flow), R"({"x": 1})", "application/json");
    EXPECT_EQ(hook.status, 202) << hook.body << hook.error;
  }
  EXPECT_TRUE(WaitFor([&] { return api.Get("/healthz").status == 200; }));
}

TEST(HttpLayer, SilentSlowAndIdleConnectionsAreClosedAfterTheirDeadlines) {
  WeftServer server({"--header-timeout", "1s", "--idle-timeout", "1s", "--min-body-rate", "1000"});
  int port = PortOf(server.base_url());
  // Nothing at all.
  int silent = Connect(port);
  ASSERT_GE(silent, 0);
  // Half a head, then nothing.
  int half = Connect(port);
  ASSERT_GE(half, 0);
  ASSERT_TRUE(SendAll(half, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  // A finished request, then an idle keep-alive connection.
  int idle = Connect(port);
  ASSERT_GE(idle, 0);
  ASSERT_TRUE(SendAll(idle, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));

  // A body that stalls: below --min-body-rate once the grace is over.
  int stalled = Connect(port);
  ASSERT_GE(stalled, 0);
  ASSERT_TRUE(
      SendAll(stalled,
              "POST /api/v1/flows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              "Content-Length: 100000\r\n\r\n{\"name\": \""));

  auto r1 = ReadUntilClosed(silent, 30s);
  EXPECT_TRUE(r1.closed) << "a connection that sent nothing stayed open";
  EXPECT_EQ(r1.data, "");
  auto r2 = ReadUntilClosed(half, 30s);
  EXPECT_TRUE(r2.closed) << "a connection with half a head stayed open";
  auto r3 = ReadUntilClosed(idle, 30s);
  EXPECT_TRUE(r3.closed) << "an idle keep-alive connection stayed open";
  EXPECT_TRUE(r3.data.starts_with("HTTP/1.1 200")) << r3.data;
  auto r4 = ReadUntilClosed(stalled, 30s);
  EXPECT_TRUE(r4.closed) << "a stalled body kept its connection";
  EXPECT_EQ(r4.data, "");
  close(stalled);
  close(silent);
  close(half);
  close(idle);
  EXPECT_EQ(server.api().Get("/healthz").status, 200);
}

TEST(HttpLayer, HeadLimitsAnswer431) {
  WeftServer server;
  int port = PortOf(server.base_url());
  std::string many = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 150; ++i) many += "X-H" + std::to_string(i) + ": 1\r\n";
  EXPECT_TRUE(RawExchange(port, many + "Connection: close\r\n\r\n").starts_with("HTTP/1.1 431"))
      << "too many fields";
  std::string big =
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n";
  EXPECT_TRUE(RawExchange(port, big).starts_with("HTTP/1.1 431")) << "a head too large";
  EXPECT_TRUE(
      RawExchange(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          .starts_with("HTTP/1.1 200"));
}

TEST(HttpLayer, BeyondMaxConnectionsANewConnectionIsClosed) {
  WeftServer server({"--max-connections", "20", "--header-timeout", "5m"});
  int port = PortOf(server.base_url());
  // Twenty connections, each shown to be served (a connection of the
  // harness that weft has not yet seen close may still count for a moment:
  // one refused then is opened again).
  std::vector<int> held;
  for (int attempt = 0; held.size() < 20 && attempt < 200; ++attempt) {
    int fd = Connect(port);
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    if (ReadUntilContains(fd, "{\"status\":\"ok\"}", 30s)) {
      held.push_back(fd);
    } else {
      close(fd);
    }
  }
  ASSERT_EQ(held.size(), 20u);
  // The 21st is accepted by the kernel, then closed by weft without a word.
  int extra = Connect(port);
  ASSERT_GE(extra, 0);
  auto r = ReadUntilClosed(extra, 30s);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.data, "");
  close(extra);
  // The earlier ones still work.
  ASSERT_TRUE(
      SendAll(held[0], "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  auto answer = ReadUntilClosed(held[0], 30s);
  EXPECT_TRUE(answer.data.starts_with("HTTP/1.1 200")) << answer.data;
  for (int fd : held) close(fd);
  // Once they are gone, new connections are served again.
  EXPECT_TRUE(WaitFor([&] { return server.api().Get("/healthz").status == 200; }, 30s));
}

// Many raw requests at once on non-blocking sockets, read to their end.
class Crowd {
 public:
  void Add(int port, const std::string& request) {
    int fd = Connect(port);
    ASSERT_GE(fd, 0) << "connect failed after " << fds_.size();
    ASSERT_TRUE(SendAll(fd, request));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fds_.push_back(fd);
    data_.emplace_back();
    done_.push_back(false);
  }
  ~Crowd() {
    for (int fd : fds_) close(fd);
  }
  // Reads what arrived, for up to `ms`; returns how many have ended (closed).
  size_t Pump(int ms) {
    std::vector<pollfd> p;
    std::vector<size_t> which;
    for (size_t i = 0; i < fds_.size(); ++i) {
      if (done_[i]) continue;
      p.push_back(pollfd{fds_[i], POLLIN, 0});
      which.push_back(i);
    }
    if (!p.empty() && poll(p.data(), p.size(), ms) > 0) {
      char buf[8192];
      for (size_t k = 0; k < p.size(); ++k) {
        if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        size_t i = which[k];
        for (;;) {
          ssize_t n = recv(fds_[i], buf, sizeof buf, 0);
          if (n > 0) {
            data_[i].append(buf, static_cast<size_t>(n));
            continue;
          }
          if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) done_[i] = true;
          break;
        }
      }
    }
    size_t ended = 0;
    for (bool d : done_) ended += d ? 1 : 0;
    return ended;
  }
  size_t CountContaining(const std::string& needle) const {
    size_t n = 0;
    for (const auto& d : data_) n += d.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }
  size_t size() const { return fds_.size(); }
  const std::string& data(size_t i) const { return data_[i]; }

 private:
  std::vector<int> fds_;
  std::vector<std::string> data_;
  std::vector<bool> done_;
};

TEST(HttpLayer, AThousandStreamsAndWaitsCostNoThreadEach) {
  RaiseOpenFiles();
  WeftServer server;
  const Client& api = server.api();
  int port = PortOf(server.base_url());
  Json flow = CreateFlow(api, Json{{"name", UniqueName("http-slow")},
                                   {"steps", Json::array({Json{{"id", "wait"},
                                                               {"uses", "flow.delay"},
                                                               {"with", {{"duration", "4s"}}}}})}});
  std::string flow_id = flow["id"];
  auto started = api.Post("/api/v1/flows/" + flow_id + "/runs", Json::object());
  ASSERT_EQ(started.status, 202) << started.body;
  std::string run_id = started.json["id"];

  constexpr int kStreams = 1000;
  constexpr int kWaits = 300;
  Crowd streams, waits;
  std::string sse = "GET /api/v1/runs/" + run_id +
                    "/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  for (int i = 0; i < kStreams; ++i) ASSERT_NO_FATAL_FAILURE(streams.Add(port, sse));
  std::string body = "{}";
  std::string wait = "POST /api/v1/flows/" + flow_id +
                     "/runs?wait=2m HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                     "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n" + body;
  for (int i = 0; i < kWaits; ++i) ASSERT_NO_FATAL_FAILURE(waits.Add(port, wait));

  // Everything ends: every stream with run_finished, every wait with its run.
  int most_threads = 0;
  auto deadline = std::chrono::steady_clock::now() + 3min;
  size_t streams_done = 0, waits_done = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    streams_done = streams.Pump(50);
    waits_done = waits.Pump(50);
    most_threads = std::max(most_threads, ThreadsOf(server.pid()));
    if (streams_done == kStreams && waits_done == kWaits) break;
  }
  EXPECT_EQ(streams_done, static_cast<size_t>(kStreams));
  EXPECT_EQ(waits_done, static_cast<size_t>(kWaits));
  EXPECT_EQ(streams.CountContaining("event: run_finished"), static_cast<size_t>(kStreams))
      << streams.data(0);
  EXPECT_EQ(waits.CountContaining("HTTP/1.1 200"), static_cast<size_t>(kWaits)) << waits.data(0);
  EXPECT_EQ(waits.CountContaining("\"status\":\"succeeded\""), static_cast<size_t>(kWaits))
      << waits.data(0);
  // A thread per stream or wait would be well over a thousand.
  EXPECT_GT(most_threads, 0);
  EXPECT_LT(most_threads, 200) << "threads seen at most while " << kStreams + kWaits
                               << " answers were pending";
}

}  // namespace
}  // namespace weft::itest
