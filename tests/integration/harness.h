// The integration harness: starts the real `weft serve` as a child process on
// port 0 with a temp data dir, reads the address it prints, waits for
// /healthz, and talks real HTTP through libcurl. One WeftServer per test;
// not thread-safe unless said so.
//
// Store selection: with WEFT_TEST_DB set (postgres://...), every server is
// started with `--db $WEFT_TEST_DB` and tests share that database, so tests
// name their flows with UniqueName() and filter runs by flow id.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"

namespace weft::itest {

using namespace std::chrono_literals;

struct HttpResult {
  long status = 0;  // 0 when the server could not be reached
  std::string body;
  Json json;                                        // body parsed, or null
  std::multimap<std::string, std::string> headers;  // names lower-case
  std::string error;                                // curl's message when status is 0
  std::string Header(const std::string& lower_name) const;
};

// A libcurl client bound to one server. Thread-safe (a handle per call).
class Client {
 public:
  explicit Client(std::string base_url) : base_(std::move(base_url)) {}
  HttpResult Request(const std::string& method, const std::string& path,
                     const std::string& body = "", const std::vector<std::string>& headers = {},
                     std::chrono::milliseconds timeout = 60s) const;
  HttpResult Get(const std::string& path) const { return Request("GET", path); }
  HttpResult Delete(const std::string& path) const { return Request("DELETE", path); }
  HttpResult Post(const std::string& path, const Json& body) const;
  HttpResult Post(const std::string& path) const { return Request("POST", path); }
  HttpResult Put(const std::string& path, const Json& body) const;
  HttpResult PostRaw(const std::string& path, const std::string& body,
                     const std::string& content_type) const;
  const std::string& base() const { return base_; }

 private:
  std::string base_;
};

class WeftServer {
 public:
  // A server on a fresh temp data dir (removed at destruction).
  WeftServer();
  explicit WeftServer(std::vector<std::string> extra_args);
  ~WeftServer();
  WeftServer(const WeftServer&) = delete;
  WeftServer& operator=(const WeftServer&) = delete;

  // Spawns `weft serve`, waits for its address and /healthz (15 s deadline). Asserts.
  void Start();
  // SIGKILL, and reaps the process.
  void Kill9();
  // SIGTERM; returns the exit status (or 128+signal), after at most 20 s.
  int Stop();
  // Starts again on the same data dir (a new port).
  void Restart();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& base_url() const { return base_url_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& temp_dir() const { return temp_dir_; }
  const Client& api() const { return client_; }
  std::string Logs() const;  // what the server wrote to stderr, all starts together

  // The arguments of `weft serve` this harness uses (for tests that spawn by hand).
  std::vector<std::string> ServeArgs() const;

 private:
  std::vector<std::string> extra_args_;
  std::string temp_dir_;
  std::string data_dir_;
  std::string log_path_;
  std::string base_url_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  Client client_{""};
};

// A test with one server, started before the test body.
class WeftTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<WeftServer>();
    ASSERT_FALSE(HasFatalFailure()) << "the server did not start";
  }
  WeftServer& server() { return *server_; }
  const Client& api() { return server_->api(); }

 private:
  std::unique_ptr<WeftServer> server_;
};

// The path of the weft binary under test.
std::string WeftBinary();

// Runs the weft binary with `args` to completion; output is stdout and stderr together.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunWeft(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = 60s);

// Polls `pred` until it holds or `timeout` passes; returns its last value.
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 15s);

// A name no other test uses ("prefix-1a2b3c"), for a shared database.
std::string UniqueName(const std::string& prefix);

// ---- flows and runs ----
// Creates a flow; asserts 201 and returns the flow.
Json CreateFlow(const Client& api, const Json& document);
// Starts a manual run with ?wait=30s and returns the run as answered.
HttpResult RunAndWait(const Client& api, const std::string& flow_id, const Json& input = Json());
// Reads the run until it is finished (or the timeout passes) and returns it.
Json WaitRunFinished(const Client& api, const std::string& run_id,
                     std::chrono::milliseconds timeout = 30s);
// The step run with that path in a run, or null.
Json StepOf(const Json& run, const std::string& path);
// The paths named in an error body's details.
std::vector<std::string> ErrorPaths(const Json& body);

}  // namespace weft::itest
