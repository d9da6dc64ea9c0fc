// TinyServer: a minimal keep-alive HTTP/1.1 responder on loopback, in the
// benchmark's process, answering every request with an 11-byte JSON body, so
// the connector benchmarks measure the client side.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace weft::bench {

// Answers every request on a connection with a small JSON body until the client closes.
class TinyServer {
 public:
  TinyServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 512);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    std::thread([this] { Accept(); }).detach();
  }
  int port() const { return port_; }

 private:
  void Accept() {
    while (true) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::thread([c] { Serve(c); }).detach();
    }
  }
  static void Serve(int c) {
    static const std::string kResponse =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        "11\r\n\r\n{\"ok\":true}";
    std::string buf;
    char chunk[4096];
    while (true) {
      ssize_t n = read(c, chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, n);
      size_t end;
      while ((end = buf.find("\r\n\r\n")) != std::string::npos) {
        buf.erase(0, end + 4);
        if (write(c, kResponse.data(), kResponse.size()) < 0) break;
      }
    }
    close(c);
  }
  int fd_;
  int port_;
};

}  // namespace weft::bench
