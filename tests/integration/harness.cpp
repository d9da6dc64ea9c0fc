#include "harness.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#ifndef WEFT_BINARY
#error "WEFT_BINARY must name the weft executable"
#endif

namespace weft::itest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

size_t CollectBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(value.begin());
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.pop_back();
    static_cast<std::multimap<std::string, std::string>*>(user)->emplace(name, value);
  }
  return size * n;
}

struct CurlInit {
  CurlInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

// Waits for a child to exit, up to `timeout`; returns its status or -1.
int WaitChild(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;
    if (Clock::now() > deadline) return -2;
    std::this_thread::sleep_for(10ms);
  }
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// fork + exec of the weft binary, stdout to a pipe (returned), stderr to `log_path` (appended).
pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path, int* stdout_fd,
            bool merge_stdout) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(out[1], 1);
    if (merge_stdout)
      dup2(out[1], 2);
    else if (log >= 0)
      dup2(log, 2);
    std::vector<char*> argv;
    std::string bin = WeftBinary();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  *stdout_fd = out[0];
  return pid;
}

// Reads one line from fd within the deadline; false on timeout or EOF.
bool ReadLine(int fd, std::string* line, Clock::time_point deadline) {
  line->clear();
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n <= 0) return false;
    if (c == '\n') return true;
    line->push_back(c);
  }
}

}  // namespace

std::string HttpResult::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpResult Client::Request(const std::string& method, const std::string& path,
                           const std::string& body, const std::vector<std::string>& headers,
                           std::chrono::milliseconds timeout) const {
  static CurlInit init;
  HttpResult out;
  CURL* c = curl_easy_init();
  std::string url = base_ + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &out.headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_slist* list = nullptr;
  list = curl_slist_append(list, "Expect:");
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  if (method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  } else {
    out.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  if (auto j = ParseJson(out.body)) out.json = std::move(*j);
  return out;
}

HttpResult Client::Post(const std::string& path, const Json& body) const {
  return Request("POST", path, body.dump(), {"Content-Type: application/json"});
}

HttpResult Client::Put(const std::string& path, const Json& body) const {
  return Request("PUT", path, body.dump(), {"Content-Type: application/json"});
}

HttpResult Client::PostRaw(const std::string& path, const std::string& body,
                           const std::string& content_type) const {
  return Request("POST", path, body, {"Content-Type: " + content_type});
}

std::string WeftBinary() { return WEFT_BINARY; }

WeftServer::WeftServer() : WeftServer(std::vector<std::string>{}) {}

WeftServer::WeftServer(std::vector<std::string> extra_args) : extra_args_(std::move(extra_args)) {
  std::string tmpl = (fs::temp_directory_path() / "weft-itest-XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  temp_dir_ = tmpl;
  data_dir_ = temp_dir_ + "/data";
  log_path_ = temp_dir_ + "/weft.log";
  Start();
}

WeftServer::~WeftServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    if (WaitChild(pid_, 10s) == -2) {
      kill(pid_, SIGKILL);
      WaitChild(pid_, 10s);
    }
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- weft stderr (" << log_path_ << ") ----\n" << Logs() << "---- end ----\n";
  }
  std::error_code ec;
  fs::remove_all(temp_dir_, ec);
}

std::vector<std::string> WeftServer::ServeArgs() const {
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--data", data_dir_};
  if (const char* db = std::getenv("WEFT_TEST_DB"); db && *db) {
    args.push_back("--db");
    args.push_back(db);
    // A killed server's runs are resumed by the next one after its lease:
    // keep it short so crash tests do not wait the default 30 s.
    args.push_back("--lease");
    args.push_back("3s");
  }
  for (const auto& a : extra_args_) args.push_back(a);
  return args;
}

void WeftServer::Start() {
  ASSERT_LE(pid_, 0) << "already running";
  if (stdout_fd_ >= 0) close(stdout_fd_);
  pid_ = Spawn(ServeArgs(), log_path_, &stdout_fd_, false);
  ASSERT_GT(pid_, 0) << "cannot spawn " << WeftBinary();
  auto deadline = Clock::now() + 15s;
  std::string line;
  const std::string prefix = "listening on ";
  while (ReadLine(stdout_fd_, &line, deadline)) {
    size_t at = line.find(prefix);
    if (at != std::string::npos) {
      base_url_ = line.substr(at + prefix.size());
      break;
    }
  }
  ASSERT_FALSE(base_url_.empty()) << "weft did not print its address; stderr:\n" << Logs();
  client_ = Client(base_url_);
  bool healthy = WaitFor([&] { return client_.Get("/healthz").status == 200; }, 15s);
  ASSERT_TRUE(healthy) << "weft at " << base_url_ << " never answered /healthz; stderr:\n"
                       << Logs();
}

void WeftServer::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  WaitChild(pid_, 10s);
  pid_ = -1;
  base_url_.clear();
}

int WeftServer::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = WaitChild(pid_, 20s);
  if (status == -2) {
    kill(pid_, SIGKILL);
    status = WaitChild(pid_, 10s);
  }
  pid_ = -1;
  base_url_.clear();
  return ExitCodeOf(status);
}

void WeftServer::Restart() {
  if (pid_ > 0) Stop();
  base_url_.clear();
  Start();
}

std::string WeftServer::Logs() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunWeft(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  CommandResult result;
  int fd = -1;
  pid_t pid = Spawn(args, "/dev/null", &fd, true);
  if (pid <= 0) return result;
  auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  int status = WaitChild(pid, 5s);
  if (status == -2) {
    kill(pid, SIGKILL);
    status = WaitChild(pid, 5s);
  }
  result.exit_code = ExitCodeOf(status);
  return result;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() > deadline) return pred();
    std::this_thread::sleep_for(20ms);
  }
}

std::string UniqueName(const std::string& prefix) {
  static std::mt19937_64 rng(std::random_device{}());
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out = prefix + "-";
  for (int i = 0; i < 8; ++i) out.push_back(kChars[rng() % 36]);
  return out;
}

Json CreateFlow(const Client& api, const Json& document) {
  auto r = api.Post("/api/v1/flows", document);
  EXPECT_EQ(r.status, 201) << r.body;
  return r.json;
}

HttpResult RunAndWait(const Client& api, const std::string& flow_id, const Json& input) {
  Json body = Json::object();
  if (!input.is_null()) body["input"] = input;
  return api.Post("/api/v1/flows/" + flow_id + "/runs?wait=30s", body);
}

Json WaitRunFinished(const Client& api, const std::string& run_id,
                     std::chrono::milliseconds timeout) {
  Json run;
  WaitFor(
      [&] {
        auto r = api.Get("/api/v1/runs/" + run_id);
        if (r.status != 200) return false;
        run = r.json;
        std::string s = GetString(run, "status");
        return s == "succeeded" || s == "failed" || s == "cancelled" || s == "skipped";
      },
      timeout);
  return run;
}

Json StepOf(const Json& run, const std::string& path) {
  if (!run.is_object() || !run.contains("steps")) return Json();
  for (const auto& s : run["steps"]) {
    if (GetString(s, "path") == path) return s;
  }
  return Json();
}

std::vector<std::string> ErrorPaths(const Json& body) {
  std::vector<std::string> out;
  if (!body.is_object() || !body.contains("error")) return out;
  const Json& e = body["error"];
  if (!e.contains("details")) return out;
  for (const auto& d : e["details"]) out.push_back(GetString(d, "path"));
  return out;
}

}  // namespace weft::itest
