// libFuzzer harness: bytes as they arrive on a connection, read by the
// server's own request parser (server::ParseRequest: Beast's parser with the
// server's limits, the HttpRequest handlers see), each request in turn (a
// keep-alive connection sends several), then matched against the real route
// table (ApiRouteSpecs) with handlers that read what real ones read: path
// parameters, query parameters, headers, cookies. No socket, no services.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/access.h"
#include "server/api/api.h"
#include "server/http_server.h"
#include "server/router.h"

namespace {

using weft::server::HttpRequest;
using weft::server::HttpResponse;

HttpResponse ReadLikeAHandler(HttpRequest& req) {
  size_t n = 0;
  for (const auto& [name, value] : req.params) n += req.Param(name).size() + value.size();
  for (const char* q : {"code", "cursor", "error", "flow_id", "format", "limit", "status", "state",
                        "trigger", "wait"}) {
    if (auto v = req.Query(q)) n += v->size();
  }
  for (const auto& [k, v] : weft::server::ParseQueryString(req.query_string))
    n += k.size() + v.size();
  if (const std::string* host = req.Header("host")) n += weft::server::IsLoopbackHost(*host);
  n += weft::server::CookieValue(req, weft::server::kSessionCookie).size();
  n += weft::server::IsHttps(req, "https://weft.example.com");
  return HttpResponse::Text(200, std::to_string(n));
}

const weft::server::Router& Routes() {
  static const weft::server::Router router = [] {
    weft::server::Router r;
    for (const auto& spec : weft::server::ApiRouteSpecs())
      r.Add(spec.method, spec.path, spec.operation, ReadLikeAHandler, spec.access);
    return r;
  }();
  return router;
}

weft::server::HttpServerOptions Options() {
  weft::server::HttpServerOptions o;
  o.max_body = 4096;  // small, so that 413 is reached too
  o.max_header_bytes = 8192;
  o.max_header_fields = 20;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;
  static const weft::server::HttpServerOptions options = Options();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 8 && !bytes.empty(); ++i) {
    weft::server::ParsedRequest parsed = weft::server::ParseRequest(bytes, options);
    if (parsed.status != 0) break;
    HttpRequest& req = parsed.request;
    req.remote_address = "127.0.0.1";
    auto match = Routes().Find(req.method, req.path);
    if (match.route) {
      req.params = std::move(match.params);
      (void)match.route->handler(req);
    }
    if (!parsed.keep_alive || parsed.used == 0) break;
    bytes.remove_prefix(parsed.used);
  }
  return 0;
}
