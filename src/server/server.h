// Server: the HTTP front of weft: the API router, the web UI's files, and the
// reserved webhook routes, on an HttpServer. app/ binds it first (so the
// bound address can become the public URL), then hands it the services and
// starts it. Bind, Serve and Stop from one thread; requests are served from many.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "server/api/api.h"
#include "server/router.h"

namespace weft::server {

class AccessControl;  // server/access.h

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";
  std::string ui_dir;           // ui/dist; empty or missing: a page says the UI is not built
  size_t max_body = 16u << 20;  // request bodies above this get 413
  // The HTTP layer's limits and threads (HttpServerOptions has the details).
  size_t max_connections = 10000;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  size_t min_body_rate = 1024;  // bytes/s, after a grace of header_timeout
  int http_threads = 4;         // I/O threads
  int http_workers = 8;         // threads that may be in handlers at once
  // Where webhook uploads that become files are spooled as they arrive
  // (unnamed files; the data dir, so not a RAM-backed /tmp).
  std::string spool_dir;
};

class Server {
 public:
  // Binds the address; nothing is served until Serve.
  static Result<std::unique_ptr<Server>> Bind(ServerOptions options);
  ~Server();

  std::string address() const;  // "127.0.0.1:43121"
  // Builds the routes over `services` (which must outlive the server) and
  // starts accepting connections.
  void Serve(ApiServices services);
  // Before Serve: sees the head of each webhook request before its body is
  // read, to answer at once (404, 405, 413 from Content-Length) or to set
  // that request's body limit (a flow's max_body). See HttpServerOptions::on_head.
  using HeadCheck =
      std::function<std::optional<HttpResponse>(HttpRequest& head, size_t& body_limit)>;
  void SetWebhookHeadCheck(HeadCheck check) { webhook_head_ = std::move(check); }
  // Before Serve: whether a webhook request (its head) is taken in without
  // waiting, so that the HTTP layer serves it on the I/O thread that read it
  // (HttpServerOptions::runs_inline). Unset: webhooks go to a worker.
  void SetWebhookInline(std::function<bool(const HttpRequest& head)> check) {
    webhook_inline_ = std::move(check);
  }
  // Stops accepting, finishes requests in progress, ends live streams.
  void Stop();

  const Router& router() const { return router_; }
  // Answers one request as the network would get it (routing, errors, UI).
  HttpResponse Handle(HttpRequest& req) const;

 private:
  class Impl;
  explicit Server(ServerOptions options);

  std::optional<HttpResponse> HandleHead(HttpRequest& head, size_t& body_limit) const;
  // Requests served on the I/O thread: GET /healthz (no store call but the
  // access check's cached "do users exist", re-read once per its TTL), and
  // webhooks as webhook_inline_ says.
  bool RunsInline(const HttpRequest& head) const;

  ServerOptions options_;
  HeadCheck webhook_head_;
  std::function<bool(const HttpRequest& head)> webhook_inline_;
  std::unique_ptr<ApiServices> services_;
  std::unique_ptr<AccessControl> access_;  // null without ApiServices::auth
  Router router_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::server
