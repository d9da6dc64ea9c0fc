// HttpServer: HTTP/1.1 with keep-alive over TCP, one thread per connection,
// so a handler that blocks (a store call, ?wait, Server-Sent Events) stalls
// only its own connection. Beast and Asio stay inside http_server.cpp.
// Start() once, Stop() once, from one thread; the handler is called from
// many connection threads at once and must be thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "server/http.h"

namespace weft::server {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port, [v6]:port; port 0 picks a free one
  size_t max_body = 16u << 20;            // larger bodies get 413 (from Content-Length when given)
  size_t max_connections = 4096;          // beyond this, new connections are refused
  // Called once a request's head is read, before its body (`head.body` is
  // empty): it may answer at once (the rest of the body is then read and
  // dropped, and the connection closed), or change `body_limit` (max_body
  // at first) for this request. Called from connection threads.
  std::function<std::optional<HttpResponse>(HttpRequest& head, size_t& body_limit)> on_head;
};

class HttpServer {
 public:
  // Binds and listens; kBadRequest for a malformed address, kUnavailable when
  // the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Listen(HttpServerOptions options, HttpHandler handler);
  virtual ~HttpServer() = default;

  // The bound address, "127.0.0.1:43121".
  virtual std::string address() const = 0;
  // Starts accepting on a thread of its own.
  virtual void Start() = 0;
  // Stops accepting, lets requests in progress finish (streams are told to
  // stop), closes idle connections, and waits for every connection thread.
  virtual void Stop() = 0;
  // Connections open now.
  virtual size_t open_connections() const = 0;
};

}  // namespace weft::server
