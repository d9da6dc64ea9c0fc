// WebhookReceiver: answers ANY /hooks/{token}[/{rest...}] (docs/webhooks.md,
// the webhook trigger): finds the flow by token (a short-lived cache over an indexed
// store read, dropped at once on ChangeHub::OnFlowChanged), filters the
// method, limits the body (from Content-Length, before it is read), checks
// auth over the raw bytes, parses the body, records the delivery and the run
// in one store transaction (idempotency keys included), and answers 202 or,
// in sync mode, the run's answer. Also replays the last delivery for manual
// runs and prunes old deliveries in the background. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/clock.h"
#include "core/events.h"
#include "core/files.h"
#include "core/run_service.h"
#include "core/secrets.h"
#include "core/store.h"
#include "server/http.h"

namespace weft::server::hooks {

struct WebhookOptions {
  size_t default_max_body = 16u << 20;
  std::chrono::milliseconds default_sync_timeout{30'000};
  std::chrono::milliseconds idempotency_window{24 * 3600 * 1000};
  // Retention: deliveries older than this, or beyond the newest `retain_count` of a flow, are
  // pruned.
  std::chrono::milliseconds retain_age{7LL * 24 * 3600 * 1000};
  int64_t retain_count = 10'000;
  std::chrono::milliseconds prune_every{60'000};
  // How long a token lookup is trusted; changes on this node drop it at once,
  // changes on another node (PostgreSQL) are seen after at most this.
  std::chrono::milliseconds cache_ttl{1000};
  // Opens the sealed webhook secrets of a flow when it is loaded (once per
  // cache fill, never per request); null: secrets are used as stored.
  const SecretBox* secrets = nullptr;
  // Where bodies that are neither JSON, form nor text, and multipart parts
  // with a filename, are kept as file values (core/files.h); null: base64.
  FileStore* files = nullptr;
};

// The parsed trigger.webhook block of a flow.
struct HookConfig {
  std::set<std::string> methods{"POST"};
  size_t max_body = 16u << 20;
  Json auth;                  // null for none
  std::string secret_header;  // lower-case, header auth only
  bool sync = false;
  std::chrono::milliseconds sync_timeout{30'000};
};

class WebhookReceiver {
 public:
  WebhookReceiver(Store& store, RunService& runs, ChangeHub& hub, Clock& clock,
                  WebhookOptions options = {});
  ~WebhookReceiver();

  // Loads every webhook flow into the cache and starts the background pruner.
  void Start();
  void Stop();

  // The whole request (routing filled req.params: token, rest).
  HttpResponse Handle(HttpRequest& req);
  // The head only, before the body is read: an answer (404, 405, 413) that
  // ends the request, or nullopt and the body limit for this request.
  std::optional<HttpResponse> CheckHead(HttpRequest& head, size_t& body_limit);
  // Whether the request of this head is taken in without waiting, so the
  // HTTP layer may serve it on an I/O thread (HttpServerOptions::runs_inline):
  // the store records webhooks at once (Store::RecordsWebhooksAtOnce), no
  // idempotency key, and the flow is in the cache, active, takes the method
  // and the announced body. A refusal found later (auth, a bad body, a full
  // run queue) still records its delivery there: a write, not a wait on one.
  bool AnswersAtOnce(const HttpRequest& head) const;
  // GET /api/v1/deliveries?flow_id=&limit= and GET /api/v1/deliveries/{id}.
  HttpResponse ListDeliveries(HttpRequest& req);
  HttpResponse GetDelivery(HttpRequest& req);
  // The trigger of the last delivery to `flow` that passed auth, as if it had
  // just arrived; kNoDelivery when there is none.
  Result<Json> ReplayTrigger(const Flow& flow);
  // POST /api/v1/deliveries/{id}/replay: a new run of the delivery's flow (its
  // latest version, active or not) with that delivery's request as the
  // trigger (`replayed_from` names it, `actor` who asked). 404 for an unknown
  // delivery or a flow deleted since; 409 for a delivery that failed the
  // webhook's auth or whose body is malformed.
  HttpResponse ReplayDelivery(HttpRequest& req);

 private:
  struct Entry {
    Flow flow;
    HookConfig config;
    std::chrono::steady_clock::time_point loaded;
  };
  std::shared_ptr<const Entry> Lookup(const std::string& token);
  std::shared_ptr<Entry> MakeEntry(Flow flow, std::chrono::steady_clock::time_point now) const;
  void Forget(const std::string& flow_id);
  // The work of Handle and CheckHead; those two count the answer once
  // (weft_webhook_requests_total{code}).
  HttpResponse HandleUncounted(HttpRequest& req);
  std::optional<HttpResponse> CheckHeadUncounted(HttpRequest& head, size_t& body_limit);
  // True when this request's body will become a file (files on, and not JSON,
  // form or text): read to disk, never answered on an I/O thread.
  bool BecomesFile(const HttpRequest& head) const;
  void Count(int status);
  void Record(Delivery d);
  Delivery NewDelivery(const Entry& e, const HttpRequest& req, int status) const;
  // Sync mode's answer for a run: nullopt while it is unfinished, unless `last`.
  std::optional<HttpResponse> AnswerSync(const std::string& run_id, const HookConfig& config,
                                         bool last);
  void PruneLoop();
  // A stored delivery's request as a webhook trigger received now.
  Result<Json> DeliveryTrigger(const Delivery& d) const;

  Store& store_;
  RunService& runs_;
  ChangeHub& hub_;
  Clock& clock_;
  WebhookOptions options_;

  mutable std::shared_mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> cache_;  // by token

  std::mutex prune_mu_;
  std::condition_variable prune_cv_;
  bool stopping_ = false;
  std::thread pruner_;
  // Last, so it goes first: the listener uses the members above.
  ChangeHub::Subscription flow_sub_;
};

// Parses trigger.webhook of a flow document (defaults where absent).
HookConfig ParseHookConfig(const Json& document, const WebhookOptions& options);

// The body as the trigger shows it: JSON parsed, form-urlencoded as an
// object, other text as a string, binary as base64, or with `files` a file
// value, and multipart/form-data an object of its parts (those with a
// filename as file values). kBadRequest with the parser's message for
// malformed JSON or multipart; kUnavailable when a file cannot be written.
Result<Json> ParseWebhookBody(const std::string& content_type, std::string_view body,
                              FileStore* files = nullptr);

}  // namespace weft::server::hooks
