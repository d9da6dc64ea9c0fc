// The HTTP request and response as handlers see them: plain values with no
// Boost type in sight, so only http_server.cpp pays for Beast's headers.
// A request is owned by the connection thread that handles it; a streaming
// response's callback runs on that same thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "core/auth_model.h"

namespace weft::server {

struct HttpRequest {
  std::string method;        // "GET", upper-case as sent
  std::string target;        // as sent: path and query
  std::string path;          // percent-decoded path, without the query
  std::string query_string;  // raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string remote_address;
  // Filled by the router: the values of the route template's {names}.
  std::vector<std::pair<std::string, std::string>> params;
  // Filled by access control (issue 9): who calls. Open mode: an anonymous admin.
  Principal caller;

  // The first header of that (lower-case) name, or null.
  const std::string* Header(std::string_view lower_name) const;
  // The path parameter of that name ("" when absent).
  const std::string& Param(std::string_view name) const;
  // The decoded query parameter of that name, or nullopt.
  std::optional<std::string> Query(std::string_view name) const;
};

// Writes a streamed body (Server-Sent Events) piece by piece.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Sends `data` at once. False when the client has gone: stop streaming.
  virtual bool Write(std::string_view data) = 0;
  // True once the server is shutting down: finish the stream soon.
  virtual bool Stopping() const = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is produced by this callback (chunked encoding) and
  // `body` is ignored.
  std::function<void(StreamWriter&)> stream;
  bool close = false;  // close the connection after this response

  static HttpResponse FromJson(int status, const Json& body);
  static HttpResponse Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
};

using HttpHandler = std::function<HttpResponse(HttpRequest&)>;

// Percent-decoding ('+' is a space only in query strings). Invalid escapes stay as they are.
std::string UrlDecode(std::string_view s, bool plus_is_space);
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view qs);

}  // namespace weft::server
