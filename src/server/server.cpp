#include "server/server.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "common/log.h"
#include "common/metrics.h"
#include "server/access.h"
#include "server/errors.h"
#include "server/http_server.h"
#include "server/static_files.h"

namespace weft::server {

class Server::Impl {
 public:
  explicit Impl(std::string ui_dir) : ui(std::move(ui_dir)) {}
  StaticFiles ui;
  std::unique_ptr<HttpServer> http;
  metrics::ScrapeHook connections_hook;  // weft_http_open_connections
  // weft_http_request_duration_seconds: one series per route (by its index
  // in the router), found once at Serve, so a request takes no lock for it.
  std::vector<metrics::Histogram> route_durations;
  metrics::Histogram static_duration, unrouted_duration;
  // Wakes the HTTP layer's pending answers (?wait, live run events) when a
  // run progresses: one thread for all of them.
  std::thread progress_watcher;
  std::atomic<bool> stop_watching{false};
};

Server::Server(ServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_.ui_dir)) {}

Server::~Server() { Stop(); }

Result<std::unique_ptr<Server>> Server::Bind(ServerOptions options) {
  std::unique_ptr<Server> server(new Server(std::move(options)));
  HttpServerOptions http_options;
  http_options.listen = server->options_.listen;
  http_options.max_body = server->options_.max_body;
  http_options.max_connections = server->options_.max_connections;
  http_options.header_timeout = server->options_.header_timeout;
  http_options.idle_timeout = server->options_.idle_timeout;
  http_options.body_grace = server->options_.header_timeout;
  http_options.min_body_rate = server->options_.min_body_rate;
  http_options.io_threads = server->options_.http_threads;
  http_options.workers = server->options_.http_workers;
  http_options.spool_dir = server->options_.spool_dir;
  http_options.on_head_prefix = "/hooks/";  // only webhooks are judged from the head
  Server* raw = server.get();
  http_options.on_head = [raw](HttpRequest& head, size_t& limit) {
    return raw->HandleHead(head, limit);
  };
  http_options.runs_inline = [raw](const HttpRequest& head) { return raw->RunsInline(head); };
  auto http =
      HttpServer::Listen(http_options, [raw](HttpRequest& req) { return raw->Handle(req); });
  if (!http) return Fail(std::move(http).error());
  server->impl_->http = std::move(*http);
  return server;
}

std::string Server::address() const { return impl_->http ? impl_->http->address() : ""; }

void Server::Serve(ApiServices services) {
  services_ = std::make_unique<ApiServices>(std::move(services));
  if (services_->auth) {
    access_ =
        std::make_unique<AccessControl>(*services_->auth, services_->flows.options().public_url);
  }
  AddApiRoutes(router_, *services_);
  for (const auto& route : router_.routes())
    impl_->route_durations.push_back(metrics::Weft().http_duration.With({route.path}));
  impl_->static_duration = metrics::Weft().http_duration.With({"static"});
  impl_->unrouted_duration = metrics::Weft().http_duration.With({"unrouted"});
  HttpServer* http = impl_->http.get();
  impl_->connections_hook = metrics::Default().OnScrape([http] {
    metrics::Weft().open_connections.Set(static_cast<double>(http->open_connections()));
  });
  impl_->http->Start();
  ChangeHub* hub = &services_->hub;
  Impl* impl = impl_.get();
  impl_->progress_watcher = std::thread([hub, http, impl] {
    uint64_t mark = hub->ProgressMark();
    while (!impl->stop_watching) {
      uint64_t now = hub->WaitProgress(
          mark, std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
      if (now == mark) continue;
      mark = now;
      http->Wake();
    }
  });
}

void Server::Stop() {
  if (!impl_) return;
  if (impl_->http) impl_->http->Stop();
  impl_->stop_watching = true;
  if (impl_->progress_watcher.joinable()) impl_->progress_watcher.join();
}

std::optional<HttpResponse> Server::HandleHead(HttpRequest& head, size_t& body_limit) const {
  if (!webhook_head_ || !head.path.starts_with("/hooks/")) return std::nullopt;
  auto match = router_.Find(head.method, head.path);
  if (!match.route || !match.route->operation.starts_with("receiveWebhook")) return std::nullopt;
  head.params = std::move(match.params);
  try {
    return webhook_head_(head, body_limit);
  } catch (const std::exception& e) {
    log::Error("unexpected exception in the webhook head check", {{"what", e.what()}});
    return ErrorResponse(ErrorCode::kInternal, "internal error");
  }
}

bool Server::RunsInline(const HttpRequest& head) const {
  if (head.path == "/healthz") return head.method == "GET" || head.method == "HEAD";
  if (head.path.starts_with("/hooks/") && webhook_inline_ && services_ &&
      services_->webhooks_enabled)
    return webhook_inline_(head);
  return false;
}

HttpResponse Server::Handle(HttpRequest& req) const {
  auto started = std::chrono::steady_clock::now();
  HttpResponse res;
  auto match = router_.Find(req.method, req.path);
  bool ui = false;  // answered by the web UI's files
  // Access control first, for every request: routes by their Access, the
  // web UI and unknown paths as public (open mode still checks Host there).
  std::optional<HttpResponse> denied;
  if (access_) denied = access_->Check(req, match.route ? match.route->access : Access::kPublic);
  if (denied) {
    res = std::move(*denied);
  } else if (match.route) {
    req.params = std::move(match.params);
    try {
      res = match.route->handler(req);
    } catch (const std::exception& e) {
      // A handler bug must not take the connection or the process down.
      log::Error("unexpected exception in a handler",
                 {{"method", req.method}, {"route", match.route->path}, {"what", e.what()}});
      res = ErrorResponse(ErrorCode::kInternal, "internal error");
    }
  } else if (!match.allow.empty()) {
    res = ErrorResponse(ErrorCode::kMethodNotAllowed,
                        req.method + " is not allowed here; allowed: " + match.allow);
    res.headers.emplace_back("Allow", match.allow);
  } else if ((req.method == "GET" || req.method == "HEAD") && !req.path.starts_with("/api/") &&
             !req.path.starts_with("/hooks/") && req.path != "/hooks") {
    res = impl_->ui.Serve(req);
    ui = true;
  } else {
    res = ErrorResponse(ErrorCode::kNotFound, "no route matches " + req.method + " " + req.path);
  }
  if (metrics::Enabled()) {
    // Route templates, never raw paths; the web UI's files as one label.
    const metrics::Histogram& h =
        match.route
            ? impl_->route_durations[static_cast<size_t>(match.route - router_.routes().data())]
        : ui ? impl_->static_duration
             : impl_->unrouted_duration;
    h.ObserveDuration(std::chrono::steady_clock::now() - started);
  }
  if (res.status >= 500) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    // Route templates, never raw paths: a webhook path carries its token.
    log::Warn("http request failed",
              {{"method", req.method},
               {"route", match.route ? match.route->path : std::string("(unrouted)")},
               {"status", std::to_string(res.status)},
               {"us", std::to_string(us.count())}});
  }
  return res;
}

}  // namespace weft::server
