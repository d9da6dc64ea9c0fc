// The HTTP request and response as handlers see them: plain values with no
// Boost type in sight, so only http_server.cpp pays for Beast's headers.
// A handler runs on one of the server's threads and owns its request while
// it runs; a response's `stream` or `later` callback is called later the same
// way (never two at once for one response), with no thread held for it in
// between.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "core/auth_model.h"

namespace weft::server {

// A request body written to a temporary file as it arrives instead of into
// memory (an upload that becomes a file), then mapped read-only: its bytes
// cost page cache the kernel can reclaim, not the process's own memory. The
// file has no name (O_TMPFILE, or unlinked at once) and goes with this object.
class SpooledBody {
 public:
  // A new empty body in `dir`; nullptr when no file can be made there.
  static std::unique_ptr<SpooledBody> Create(const std::string& dir);
  ~SpooledBody();
  SpooledBody(const SpooledBody&) = delete;
  SpooledBody& operator=(const SpooledBody&) = delete;

  // False when the bytes cannot be written (the disk is full).
  bool Write(const char* data, size_t n);
  // Maps what was written; false when it cannot be mapped.
  bool Finish();
  // The whole body, once finished.
  std::string_view view() const;
  uint64_t size() const { return size_; }

 private:
  SpooledBody() = default;
  int fd_ = -1;
  uint64_t size_ = 0;
  void* map_ = nullptr;
};

struct HttpRequest {
  std::string method;        // "GET", upper-case as sent
  std::string target;        // as sent: path and query
  std::string path;          // percent-decoded path, without the query
  std::string query_string;  // raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  // Set by an on_head hook (HttpServerOptions) for a body to read into a
  // SpooledBody rather than `body`; the handler then finds it in `spooled`.
  bool spool_body = false;
  std::shared_ptr<const SpooledBody> spooled;
  std::string remote_address;
  // Filled by the router: the values of the route template's {names}.
  std::vector<std::pair<std::string, std::string>> params;
  // Filled by access control: who calls. Open mode: an anonymous admin.
  Principal caller;

  // The body, wherever it was read to.
  std::string_view Body() const { return spooled ? spooled->view() : std::string_view(body); }
  // The first header of that (lower-case) name, or null.
  const std::string* Header(std::string_view lower_name) const;
  // The path parameter of that name ("" when absent).
  const std::string& Param(std::string_view name) const;
  // The decoded query parameter of that name, or nullopt.
  std::optional<std::string> Query(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  // close the connection after this response

  // ---- answers that take time, without a thread each (Server-Sent Events, ?wait) ----
  // Both are polled: called like a handler at once, then each time the
  // server is woken (HttpServer::Wake: a run progressed) or `poll_every` has
  // passed, never two calls at once for one response. A call must not block.
  //
  // When set, the body is streamed (chunked encoding) and `body` is ignored:
  // each call appends what to send now to `out` and returns false once the
  // stream is complete. `stopping`: the server is shutting down; finish now.
  std::function<bool(std::string& out, bool stopping)> stream;
  // With `stream`: a body of known length (a file download), sent with this
  // Content-Length instead of chunks; `stream` is asked again at once while
  // it returns true (no polling) and must produce exactly this many bytes.
  std::optional<uint64_t> content_length;
  // When set, the answer is not known yet: each call returns it, or nullopt
  // to be asked again. `last` is true once `deadline` has passed or the
  // server is stopping: the call must then answer. The other fields of this
  // response are ignored.
  std::function<std::optional<HttpResponse>(bool last)> later;
  std::chrono::steady_clock::time_point deadline{};
  std::chrono::milliseconds poll_every{250};

  static HttpResponse FromJson(int status, const Json& body);
  static HttpResponse Text(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
};

using HttpHandler = std::function<HttpResponse(HttpRequest&)>;

// Percent-decoding ('+' is a space only in query strings). Invalid escapes stay as they are.
std::string UrlDecode(std::string_view s, bool plus_is_space);
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view qs);

}  // namespace weft::server
