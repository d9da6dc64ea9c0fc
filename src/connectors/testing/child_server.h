// ChildServer: a real server (python3, sshd, node) started by a test as a
// child process on loopback, stopped when the object goes. The child prints
// "READY <port>" on stdout once it listens. One thread per object.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace weft::testing {

class ChildServer {
 public:
  // Starts argv and waits up to `wait_ms` for "READY <port>". On failure
  // port() is 0 and error() says why.
  explicit ChildServer(const std::vector<std::string>& argv, int wait_ms = 15'000,
                       const std::vector<std::string>& env = {});
  // For servers that print nothing (sshd): waits until `ready_port` accepts.
  ChildServer(const std::vector<std::string>& argv, int ready_port, int wait_ms);
  ~ChildServer();
  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;

  int port() const { return port_; }
  const std::string& error() const { return error_; }

 private:
  void Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  std::string error_;
};

// The python3 that has Debian's python3-* modules (aiosmtpd, pyftpdlib).
std::string SystemPython();
// A fresh temporary directory (removed by RemoveTree).
std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path);
// Reads a whole file; empty when missing.
std::string ReadFile(const std::string& path);
// Finds a free loopback TCP port (for servers that cannot report theirs).
int FreePort();

}  // namespace weft::testing
