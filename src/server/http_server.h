// HttpServer: HTTP/1.1 with keep-alive over TCP, asynchronous: `io_threads`
// threads, each with its own event loop, serve every connection, so an idle
// or slow client costs memory, not a thread. Handlers that may block run on
// `workers` other threads; those known never to wait (`runs_inline`) run on
// the I/O thread that read the request, without a hand-off. Answers that
// take time (HttpResponse::stream, ::later) are polled, holding no thread in
// between. Beast and Asio stay inside http_server.cpp.
// Start() once, Stop() once, from one thread; Wake() and open_connections()
// from any thread. The handler, on_head and runs_inline are called from many
// threads at once and must be thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "server/http.h"

namespace weft::server {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port, [v6]:port; port 0 picks a free one
  size_t max_body = 16u << 20;            // larger bodies get 413 (from Content-Length when given)
  // Beyond this many open connections a new one is closed at once.
  size_t max_connections = 10000;
  // A request head must be complete this long after the connection opened
  // (the first request) or after its first byte (later ones); else the
  // connection is closed.
  std::chrono::milliseconds header_timeout{10000};
  // A keep-alive connection with no request under way is closed after this.
  std::chrono::milliseconds idle_timeout{60000};
  // A body may take `body_grace`, plus one second per `min_body_rate` bytes
  // received so far; slower, the connection is closed. 0: no rate.
  std::chrono::milliseconds body_grace{10000};
  size_t min_body_rate = 1024;  // bytes per second
  // Writing one response (or one piece of a stream) may take this long.
  std::chrono::milliseconds write_timeout{60000};
  // A head larger than this, or with more fields, gets 431.
  size_t max_header_bytes = 64 * 1024;
  size_t max_header_fields = 100;
  int io_threads = 4;  // threads doing the sockets (and the requests that run inline)
  int workers = 8;     // threads running handlers, on_head, stream and later calls
  // Whether a request (its head; the body is not read yet) may be served on
  // the I/O thread that read it: on_head and the handler are then called
  // there, saving two hand-offs between threads. Only for requests whose
  // handling never waits (no store round trip, no lock held across slow
  // work): while it runs, the other connections of that thread wait. Null:
  // every request goes to a worker.
  std::function<bool(const HttpRequest& head)> runs_inline;
  // Called for heads whose path starts with `on_head_prefix`, once the head
  // is read, before its body (`head.body` is empty): it may answer at once
  // (the rest of the body is then read and dropped, and the connection
  // closed), change `body_limit` (max_body at first) for this request, or
  // set `head.spool_body`: the body is then written to a SpooledBody in
  // `spool_dir` on a worker as it arrives, never held in memory (a webhook
  // upload that becomes a file). Called like a handler.
  std::string on_head_prefix = "/";
  std::function<std::optional<HttpResponse>(HttpRequest& head, size_t& body_limit)> on_head;
  std::string spool_dir;  // "" or gone: $TMPDIR, else /tmp
};

class HttpServer {
 public:
  // Binds and listens (raising the soft limit of open files to the hard
  // one); kBadRequest for a malformed address, kUnavailable when the address
  // cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Listen(HttpServerOptions options, HttpHandler handler);
  virtual ~HttpServer() = default;

  // The bound address, "127.0.0.1:43121".
  virtual std::string address() const = 0;
  // Starts the pool of threads, and accepts.
  virtual void Start() = 0;
  // Stops accepting, lets requests in progress finish (streams and pending
  // answers are told to stop), closes idle connections, and waits for them
  // all and for the threads.
  virtual void Stop() = 0;
  // Asks every pending `stream` and `later` again soon (something they wait
  // for may have changed). Cheap; any thread.
  virtual void Wake() = 0;
  // Connections open now.
  virtual size_t open_connections() const = 0;
};

// One request read from `bytes` the way a connection reads it (the same
// parser, limits and HttpRequest), without a socket: for the fuzzer and
// tests. Thread-safe.
struct ParsedRequest {
  // 0: a whole request was read. Otherwise what a connection does: answers
  // 400 (malformed), 431 (head too large, too many fields) or 413 (body over
  // max_body), or -1: the bytes end before the request does (it would wait).
  int status = 0;
  HttpRequest request;  // the head when status is 0 or 413, and the body when 0
  bool keep_alive = false;
  size_t used = 0;  // bytes of the request when status is 0; what follows is the next one
};
ParsedRequest ParseRequest(std::string_view bytes, const HttpServerOptions& options);

}  // namespace weft::server
