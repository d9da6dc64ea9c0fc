#include "server/hooks/receiver.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time_format.h"
#include "common/utf8.h"
#include "core/api_json.h"
#include "core/flow_secrets.h"
#include "server/errors.h"
#include "server/hooks/multipart.h"
#include "server/hooks/webhook_auth.h"

namespace weft::server::hooks {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string SafeText(const std::string& s) {
  return ValidUtf8(s) ? s : "base64:" + Base64Encode(s);
}

HttpResponse Answer(int status, const Json& body) { return HttpResponse::FromJson(status, body); }

// Media type without parameters, lower-case.
std::string MediaType(const std::string& content_type) {
  std::string t = Lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  while (!t.empty() && t.front() == ' ') t.erase(t.begin());
  return t;
}

Json QueryToJson(std::string_view qs) {
  Json out = Json::object();
  for (auto& [k, v] : ParseQueryString(qs)) {
    std::string key = SafeText(k);
    std::string value = SafeText(v);
    auto it = out.find(key);
    if (it == out.end())
      out[key] = value;
    else if (it->is_array())
      it->push_back(value);
    else
      *it = Json::array({*it, value});
  }
  return out;
}

// JSON text with every number no double can hold (1e99999, or an integer of
// four hundred digits) turned into a string of its digits, so a body that is
// valid JSON by its grammar is kept whole. Numbers are found outside strings
// only; the text is assumed to be JSON apart from those numbers (the result
// is parsed again, and refused if it is not).
std::string QuoteHugeNumbers(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, text.size());
      out.append(text.substr(i, j - i));
      i = j;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i + 1;
      while (j < text.size() &&
             (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.' ||
              text[j] == 'e' || text[j] == 'E' || text[j] == '+' || text[j] == '-'))
        ++j;
      std::string number(text.substr(i, j - i));
      double d = std::strtod(number.c_str(), nullptr);
      if (std::isfinite(d)) {
        out += number;
      } else {
        out += '"';
        out += number;
        out += '"';
      }
      i = j;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

}  // namespace

HookConfig ParseHookConfig(const Json& document, const WebhookOptions& options) {
  HookConfig c;
  c.max_body = options.default_max_body;
  c.sync_timeout = options.default_sync_timeout;
  auto t = document.find("trigger");
  if (t == document.end() || !t->is_object()) return c;
  auto w = t->find("webhook");
  if (w == t->end() || !w->is_object()) return c;
  if (auto m = w->find("methods"); m != w->end() && m->is_array() && !m->empty()) {
    c.methods.clear();
    for (const auto& v : *m)
      if (v.is_string()) c.methods.insert(v.get<std::string>());
  }
  if (auto mb = w->find("max_body");
      mb != w->end() && mb->is_number_integer() && mb->get<int64_t>() > 0)
    c.max_body = static_cast<size_t>(mb->get<int64_t>());
  if (auto a = w->find("auth"); a != w->end() && a->is_object()) {
    c.auth = *a;
    c.secret_header = SecretHeaderName(*a);
  }
  if (auto r = w->find("response"); r != w->end() && r->is_object()) {
    c.sync = GetString(*r, "mode") == "sync";
    if (auto to = r->find("timeout"); to != r->end() && to->is_string())
      if (auto d = ParseDuration(to->get<std::string>())) c.sync_timeout = *d;
  }
  return c;
}

namespace {

// A multipart/form-data body with the parts that carry a filename written to
// `files` as file values; other parts are text (base64 when not UTF-8). A
// name sent more than once becomes an array.
Result<Json> MultipartToJson(const std::string& content_type, std::string_view body,
                             FileStore& files) {
  auto parts = ParseMultipart(body, MultipartBoundary(content_type));
  if (!parts) return Fail(ErrorCode::kBadRequest, "the body is not valid multipart/form-data");
  Json out = Json::object();
  for (const auto& p : *parts) {
    Json v;
    if (p.filename) {
      std::string name = p.filename->empty() ? p.name : *p.filename;
      auto info = WriteWholeFile(
          files, name,
          p.content_type.empty() ? "application/octet-stream" : MediaType(p.content_type), p.data);
      if (!info)
        return Fail(info.error().code == ErrorCode::kPayloadTooLarge ? ErrorCode::kPayloadTooLarge
                                                                     : ErrorCode::kUnavailable,
                    "the part \"" + p.name + "\" could not be kept: " + info.error().message);
      v = info->ToJson();
    } else {
      std::string text(p.data);
      v = ValidUtf8(text) ? Json(std::move(text)) : Json(Base64Encode(text));
    }
    if (!out.contains(p.name)) {
      out[p.name] = std::move(v);
    } else {
      if (!out[p.name].is_array() || IsFileValue(out[p.name]))
        out[p.name] = Json::array({std::move(out[p.name])});
      out[p.name].push_back(std::move(v));
    }
  }
  return out;
}

}  // namespace

Result<Json> ParseWebhookBody(const std::string& content_type, std::string_view body,
                              FileStore* files) {
  if (body.empty()) return Json(nullptr);
  std::string media = MediaType(content_type);
  if (files && media == "multipart/form-data") return MultipartToJson(content_type, body, *files);
  if (media == "application/json" || media.ends_with("+json")) {
    if (JsonNesting(body) > kMaxJsonNesting)
      return Fail(ErrorCode::kBadRequest, "the body's " + TooDeepMessage());
    try {
      return Json::parse(body);
    } catch (const Json::out_of_range&) {
      // Valid JSON holding a number no double can hold (1e99999): keep the
      // body, that number as a string of its digits (docs/webhooks.md).
      try {
        return Json::parse(QuoteHugeNumbers(body));
      } catch (const Json::exception& e) {
        return Fail(ErrorCode::kBadRequest, std::string("the body is not valid JSON: ") + e.what());
      }
    } catch (const Json::exception& e) {
      return Fail(ErrorCode::kBadRequest, std::string("the body is not valid JSON: ") + e.what());
    }
  }
  if (media == "application/x-www-form-urlencoded") {
    if (!ValidUtf8(body)) return Json(Base64Encode(body));
    return QueryToJson(body);
  }
  bool textual = media.empty() || media.starts_with("text/") ||
                 media.find("xml") != std::string::npos || media == "application/javascript" ||
                 media == "application/yaml" || media == "application/x-yaml" ||
                 media == "application/graphql";
  if (textual && ValidUtf8(body)) return Json(body);
  if (files) {
    // Bytes (an image, a PDF, a ZIP): a file, not base64 in the run.
    auto info =
        WriteWholeFile(*files, "body", media.empty() ? "application/octet-stream" : media, body);
    if (!info)
      return Fail(ErrorCode::kUnavailable, "the body could not be kept: " + info.error().message);
    return info->ToJson();
  }
  return Json(Base64Encode(body));
}

WebhookReceiver::WebhookReceiver(Store& store, RunService& runs, ChangeHub& hub, Clock& clock,
                                 WebhookOptions options)
    : store_(store), runs_(runs), hub_(hub), clock_(clock), options_(std::move(options)) {
  flow_sub_ = hub_.OnFlowChanged([this](const std::string& flow_id) { Forget(flow_id); });
}

WebhookReceiver::~WebhookReceiver() {
  flow_sub_.Reset();
  Stop();
}

void WebhookReceiver::Start() {
  if (auto flows = store_.ListFlows()) {
    auto now = std::chrono::steady_clock::now();
    std::unique_lock lock(cache_mu_);
    for (auto& f : *flows) {
      if (f.trigger_type != "webhook" || f.webhook_token.empty()) continue;
      std::string token = f.webhook_token;
      cache_[token] = MakeEntry(std::move(f), now);
    }
  } else {
    log::Warn("webhooks: cannot load flows", {{"error", flows.error().message}});
  }
  pruner_ = std::thread([this] { PruneLoop(); });
}

void WebhookReceiver::Stop() {
  {
    std::lock_guard lock(prune_mu_);
    stopping_ = true;
  }
  prune_cv_.notify_all();
  if (pruner_.joinable()) pruner_.join();
}

void WebhookReceiver::Forget(const std::string& flow_id) {
  std::unique_lock lock(cache_mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second->flow.id == flow_id)
      it = cache_.erase(it);
    else
      ++it;
  }
}

std::shared_ptr<const WebhookReceiver::Entry> WebhookReceiver::Lookup(const std::string& token) {
  auto now = std::chrono::steady_clock::now();
  {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(token);
    if (it != cache_.end() && now - it->second->loaded < options_.cache_ttl) return it->second;
  }
  auto flow = store_.GetFlowByWebhookToken(token);
  if (!flow || flow->trigger_type != "webhook") {
    std::unique_lock lock(cache_mu_);
    cache_.erase(token);
    return nullptr;
  }
  auto e = MakeEntry(std::move(*flow), now);
  std::unique_lock lock(cache_mu_);
  cache_[token] = e;
  return e;
}

std::shared_ptr<WebhookReceiver::Entry> WebhookReceiver::MakeEntry(
    Flow flow, std::chrono::steady_clock::time_point now) const {
  auto e = std::make_shared<Entry>();
  e->config = ParseHookConfig(flow.document, options_);
  if (options_.secrets && e->config.auth.is_object()) {
    // Opened once here; a secret that cannot be opened (another key) stays
    // sealed, so every request is refused with 401 rather than let through.
    Json holder = {{"trigger", {{"webhook", {{"auth", e->config.auth}}}}}};
    if (auto opened = OpenFlowSecrets(holder, *options_.secrets); opened)
      e->config.auth = std::move(holder["trigger"]["webhook"]["auth"]);
    else
      log::Warn("webhooks: cannot open the flow's webhook secret",
                {{"flow_id", flow.id}, {"error", opened.error().message}});
  }
  e->loaded = now;
  e->flow = std::move(flow);
  return e;
}

Delivery WebhookReceiver::NewDelivery(const Entry& e, const HttpRequest& req, int status) const {
  Delivery d;
  d.flow_id = e.flow.id;
  d.received_at = clock_.Now();
  d.method = req.method;
  const std::string& rest = req.Param("rest");
  d.path = rest.empty() ? "" : "/" + rest;
  d.status_code = status;
  Json headers = Json::object();
  for (const auto& [name, value] : req.headers) {
    std::string v = (name == "authorization" ||
                     (!e.config.secret_header.empty() && name == e.config.secret_header))
                        ? std::string(kSecretMask)
                        : SafeText(value);
    auto it = headers.find(name);
    if (it == headers.end())
      headers[name] = std::move(v);
    else
      *it = it->get<std::string>() + ", " + v;
  }
  d.headers = std::move(headers);
  d.query = QueryToJson(req.query_string);
  if (const std::string* ct = req.Header("content-type")) d.content_type = SafeText(*ct);
  return d;
}

void WebhookReceiver::Record(Delivery d) {
  if (auto r = store_.CreateDelivery(d); !r)
    log::Warn("webhooks: cannot record a delivery",
              {{"flow_id", d.flow_id}, {"error", r.error().message}});
}

void WebhookReceiver::Count(int status) {
  if (!metrics::Enabled() || status < 100 || status > 599) return;
  // One series per status code seen: a small, bounded set, each found once.
  static std::array<std::once_flag, 600> found;
  static std::array<metrics::Counter, 600> counters;
  std::call_once(found[status], [status] {
    counters[status] = metrics::Weft().webhook_requests.With({std::to_string(status)});
  });
  counters[status].Increment();
}

std::optional<HttpResponse> WebhookReceiver::CheckHead(HttpRequest& head, size_t& body_limit) {
  auto res = CheckHeadUncounted(head, body_limit);
  if (res) Count(res->status);
  return res;
}

bool WebhookReceiver::BecomesFile(const HttpRequest& head) const {
  if (!options_.files) return false;
  const std::string* ct = head.Header("content-type");
  std::string media = ct ? MediaType(*ct) : "";
  bool json_form_or_text = media.empty() || media == "application/json" ||
                           media.ends_with("+json") ||
                           media == "application/x-www-form-urlencoded" ||
                           media.starts_with("text/") || media.find("xml") != std::string::npos;
  return !json_form_or_text;
}

bool WebhookReceiver::AnswersAtOnce(const HttpRequest& head) const {
  if (!store_.RecordsWebhooksAtOnce()) return false;
  if (head.Header("webhook-id") || head.Header("svix-id") || head.Header("idempotency-key"))
    return false;
  // A body that becomes a file is written to disk first: not on an I/O thread.
  if (BecomesFile(head)) return false;
  // "/hooks/{token}" or "/hooks/{token}/{rest...}"
  constexpr std::string_view kPrefix = "/hooks/";
  if (!head.path.starts_with(kPrefix)) return false;
  std::string_view token = std::string_view(head.path).substr(kPrefix.size());
  token = token.substr(0, token.find('/'));
  std::shared_lock lock(cache_mu_);
  auto it = cache_.find(std::string(token));
  if (it == cache_.end()) return false;
  const Entry& e = *it->second;
  if (std::chrono::steady_clock::now() - e.loaded >= options_.cache_ttl) return false;
  if (!e.flow.active || !e.config.methods.count(head.method)) return false;
  if (const std::string* cl = head.Header("content-length"))
    return std::strtoull(cl->c_str(), nullptr, 10) <= e.config.max_body;
  return true;
}

HttpResponse WebhookReceiver::Handle(HttpRequest& req) {
  HttpResponse res = HandleUncounted(req);
  if (res.later) {  // sync mode: counted once answered
    res.later = [this, answer = std::move(res.later)](bool last) {
      auto out = answer(last);
      if (out) Count(out->status);
      return out;
    };
    return res;
  }
  Count(res.status);
  return res;
}

std::optional<HttpResponse> WebhookReceiver::CheckHeadUncounted(HttpRequest& head,
                                                                size_t& body_limit) {
  auto e = Lookup(head.Param("token"));
  if (!e) return ErrorResponse(ErrorCode::kNotFound, "no webhook at this URL");
  if (!e->config.methods.count(head.method)) {
    Record(NewDelivery(*e, head, 405));
    std::string allow;
    for (const auto& m : e->config.methods) allow += (allow.empty() ? "" : ", ") + m;
    auto res = ErrorResponse(ErrorCode::kMethodNotAllowed,
                             head.method + " is not accepted here; allowed: " + allow);
    res.headers.emplace_back("Allow", allow);
    return res;
  }
  if (const std::string* cl = head.Header("content-length")) {
    unsigned long long n = std::strtoull(cl->c_str(), nullptr, 10);
    if (n > e->config.max_body) {
      Record(NewDelivery(*e, head, 413));
      return ErrorResponse(ErrorCode::kPayloadTooLarge,
                           "the body is larger than this webhook's limit of " +
                               std::to_string(e->config.max_body) + " bytes");
    }
  }
  body_limit = e->config.max_body;
  // Bytes and multipart uploads go to a file as they arrive, not into memory
  // (a webhook's max_body may be as large as --max-file-size).
  head.spool_body = BecomesFile(head);
  return std::nullopt;
}

HttpResponse WebhookReceiver::HandleUncounted(HttpRequest& req) {
  auto e = Lookup(req.Param("token"));
  if (!e) return ErrorResponse(ErrorCode::kNotFound, "no webhook at this URL");
  const HookConfig& config = e->config;
  if (!config.methods.count(req.method)) {
    size_t limit = 0;
    if (auto early = CheckHeadUncounted(req, limit)) return *early;
  }
  const std::string_view raw = req.Body();
  if (raw.size() > config.max_body) {
    Record(NewDelivery(*e, req, 413));
    return ErrorResponse(ErrorCode::kPayloadTooLarge,
                         "the body is larger than this webhook's limit");
  }
  TimePoint now = clock_.Now();
  Delivery delivery = NewDelivery(*e, req, 0);
  // A spooled upload is not copied into the delivery log; once parsed, the
  // delivery keeps its file values (below).
  if (!req.spooled) delivery.body = req.body;

  if (auto ok = VerifyWebhookAuth(config.auth, req, now); !ok) {
    delivery.status_code = 401;
    Record(std::move(delivery));
    return ErrorResponse(ok.error());
  }
  delivery.auth_passed = true;
  if (!e->flow.active) {
    delivery.status_code = 409;
    Record(std::move(delivery));
    return ErrorResponse(ErrorCode::kFlowInactive,
                         "the flow \"" + e->flow.name + "\" is not active");
  }
  auto body = ParseWebhookBody(delivery.content_type, raw, options_.files);
  if (!body) {
    if (body.error().code == ErrorCode::kUnavailable) {
      // No room for the files (a full disk): nothing acknowledged, try later.
      HttpResponse res = ErrorResponse(body.error());
      res.headers.emplace_back("Retry-After", "5");
      return res;
    }
    delivery.status_code = body.error().code == ErrorCode::kPayloadTooLarge ? 413 : 400;
    Record(std::move(delivery));
    return ErrorResponse(body.error());
  }
  if (options_.files) {
    std::vector<std::string> ids;
    CollectFileIds(*body, &ids);
    if (!ids.empty()) {
      // The delivery keeps the body as the trigger saw it (file values, not
      // megabytes of bytes); a replay gives the same files.
      delivery.body = body->dump();
      delivery.content_type = "application/json";
    }
  }

  std::string key;
  if (const std::string* h = req.Header("webhook-id"))
    key = *h;
  else if (const std::string* h = req.Header("svix-id"))
    key = *h;
  else if (const std::string* h = req.Header("idempotency-key"))
    key = *h;
  const TimePoint keys_since = now - options_.idempotency_window;
  if (auto admitted = runs_.Admit(); !admitted) {  // --max-queued: nothing acknowledged is dropped
    // A repeat starts no run, so a full queue is no reason to refuse it: it
    // gets the answer of any repeat (below, from RecordWebhook, which stays
    // the authority). The key is read ahead only here, when the queue is
    // full, so accepted requests pay no extra read. (Should the key pass its
    // 24 h in between, that one run goes past the limit.)
    bool repeat = false;
    if (!key.empty()) {
      auto first = store_.FindWebhookKey(e->flow.id, key, keys_since);
      repeat = first && first->has_value();
    }
    if (!repeat) {
      delivery.status_code = 429;
      Record(std::move(delivery));
      HttpResponse res = ErrorResponse(admitted.error());
      res.headers.emplace_back("Retry-After", std::to_string(RunService::kRetryAfterSeconds));
      return res;
    }
  }

  Run run;
  run.flow_id = e->flow.id;
  run.flow_name = e->flow.name;
  run.flow_version = e->flow.version;
  run.trigger_type = "webhook";
  run.created_at = now;
  run.id = NewId(ToUnixMs(now));
  // Member by member, moving what is not needed after: an initializer list
  // would copy the headers and the body again.
  run.trigger = Json::object();
  run.trigger["type"] = "webhook";
  run.trigger["method"] = req.method;
  run.trigger["path"] = delivery.path;
  run.trigger["headers"] = delivery.headers;
  run.trigger["query"] = delivery.query;
  run.trigger["body"] = std::move(*body);
  run.trigger["received_at"] = FormatIso(now);

  WebhookRecord record;
  record.run = std::move(run);
  record.idempotency_key = std::move(key);
  record.keys_since = keys_since;
  if (!config.sync) {
    delivery.status_code = 202;
    record.delivery = std::move(delivery);  // accepted mode records it here and needs it no more
  }
  auto written = store_.RecordWebhook(record);
  if (!written) {
    log::Warn("webhooks: cannot queue a run",
              {{"flow_id", e->flow.id}, {"error", written.error().message}});
    if (config.sync) {
      delivery.status_code = 503;
      Record(std::move(delivery));
    }
    // Nothing was acknowledged: the sender may try again (a full disk, an
    // I/O error, the store unreachable). 503 with Retry-After, whatever the
    // store's reason, so senders that retry on 5xx do.
    HttpResponse res = ErrorResponse(ErrorCode::kUnavailable,
                                     "the run could not be queued: " + written.error().message);
    res.headers.emplace_back("Retry-After", "5");
    return res;
  }
  bool duplicate = !written->run;
  std::string run_id = duplicate ? written->duplicate_of : written->run->id;
  if (!duplicate && !written->announced_later) hub_.RunQueued();

  if (!config.sync) {
    HttpResponse res = Answer(202, Json{{"run_id", run_id}});
    if (duplicate) res.headers.emplace_back("Idempotent-Replayed", "true");
    return res;
  }
  // Sync mode: answered once the run finishes or sync_timeout passes. The
  // HTTP layer asks again as runs progress, holding no thread in between.
  HttpResponse pending;
  pending.deadline = std::chrono::steady_clock::now() + config.sync_timeout;
  pending.later = [this, run_id, config, duplicate,
                   d = std::make_shared<Delivery>(std::move(delivery))](
                      bool last) -> std::optional<HttpResponse> {
    auto res = AnswerSync(run_id, config, last);
    if (!res) return res;
    d->status_code = res->status;
    d->run_id = run_id;
    Record(std::move(*d));
    if (duplicate) res->headers.emplace_back("Idempotent-Replayed", "true");
    return res;
  };
  return pending;
}

std::optional<HttpResponse> WebhookReceiver::AnswerSync(const std::string& run_id,
                                                        const HookConfig& config, bool last) {
  // Every step of every run wakes every waiter: look at the run's row alone
  // and read its steps only for the answer.
  auto row = runs_.Get(run_id, false);
  if (!row) return Answer(202, Json{{"run_id", run_id}});
  if (!IsTerminal(row->status)) {
    if (!last) return std::nullopt;
    return Answer(202, Json{{"run_id", run_id}});
  }
  auto run = runs_.Get(run_id, true);
  if (!run) return Answer(202, Json{{"run_id", run_id}});
  if (run->status != RunStatus::kSucceeded) {
    Json error = run->error.is_object()
                     ? run->error
                     : Json{{"code", "run_" + std::string(ToString(run->status))},
                            {"message", "the run " + std::string(ToString(run->status))}};
    return Answer(500, Json{{"error", error}, {"run_id", run_id}});
  }
  const StepRun* respond = nullptr;
  for (const auto& st : run->steps)
    if (st.uses == "webhook.respond" && st.status == StepStatus::kSucceeded) respond = &st;
  if (!respond) return Answer(200, run->output);
  const Json& out = respond->output;
  HttpResponse res;
  res.status = out.value("status", 200);
  Json body = out.value("body", Json(nullptr));
  bool has_type = false;
  if (auto h = out.find("headers"); h != out.end() && h->is_object()) {
    for (auto& [k, v] : h->items()) {
      std::string value = v.is_string() ? v.get<std::string>() : v.dump();
      if (Lower(k) == "content-type") {
        res.content_type = value;
        has_type = true;
      } else {
        res.headers.emplace_back(k, value);
      }
    }
  }
  if (body.is_string()) {
    res.body = body.get<std::string>();
    if (!has_type) res.content_type = "text/plain; charset=utf-8";
  } else if (body.is_null()) {
    res.body = "";
    if (!has_type) res.content_type = "";
  } else {
    res.body = body.dump();
    if (!has_type) res.content_type = "application/json";
  }
  return res;
}

HttpResponse WebhookReceiver::ListDeliveries(HttpRequest& req) {
  int limit = 50;
  if (auto l = req.Query("limit")) {
    try {
      limit = std::stoi(*l);
    } catch (const std::exception&) {
      return ErrorResponse(
          Error(ErrorCode::kValidation, "limit must be a number", {{"limit", "must be a number"}}));
    }
  }
  limit = std::clamp(limit, 1, 1000);
  auto list = store_.ListDeliveries(req.Query("flow_id").value_or(""), limit);
  if (!list) return ErrorResponse(list.error());
  Json rows = Json::array();
  for (const auto& d : *list) {
    Json j = DeliveryToJson(d, false);
    j["headers"] = d.headers;
    j["query"] = d.query;
    rows.push_back(std::move(j));
  }
  return Answer(200, Json{{"deliveries", std::move(rows)}});
}

HttpResponse WebhookReceiver::GetDelivery(HttpRequest& req) {
  auto d = store_.GetDelivery(req.Param("id"));
  if (!d) return ErrorResponse(d.error());
  Json j = DeliveryToJson(*d, false);
  j["headers"] = d->headers;
  j["query"] = d->query;
  // The body as the trigger showed it (raw text when it did not parse).
  auto body = ParseWebhookBody(d->content_type, d->body);
  j["body"] = body ? *body : Json(SafeText(d->body));
  return Answer(200, j);
}

Result<Json> WebhookReceiver::DeliveryTrigger(const Delivery& d) const {
  auto body = ParseWebhookBody(d.content_type, d.body);
  if (!body) return Fail(body.error());
  return Json{{"type", "webhook"},
              {"method", d.method},
              {"path", d.path},
              {"headers", d.headers},
              {"query", d.query},
              {"body", std::move(*body)},
              {"received_at", FormatIso(clock_.Now())},
              {"replayed_from", d.id}};
}

Result<Json> WebhookReceiver::ReplayTrigger(const Flow& flow) {
  auto list = store_.ListDeliveries(flow.id, 1000);
  if (!list) return Fail(list.error());
  for (const auto& d : *list) {
    if (!d.auth_passed || d.status_code == 400 || d.status_code == 405 || d.status_code == 413)
      continue;
    auto trigger = DeliveryTrigger(d);
    if (trigger) return trigger;
  }
  return Fail(ErrorCode::kNoDelivery,
              "the flow \"" + flow.name +
                  "\" has received no delivery to replay yet; send a request to its "
                  "webhook URL or run it with an input");
}

HttpResponse WebhookReceiver::ReplayDelivery(HttpRequest& req) {
  auto d = store_.GetDelivery(req.Param("id"));
  if (!d) return ErrorResponse(d.error());
  // A request refused at the door is not run by a click: it never proved it
  // came from the sender.
  if (!d->auth_passed)
    return ErrorResponse(ErrorCode::kConflict,
                         "delivery " + d->id +
                             " failed the webhook's authentication; only an authenticated "
                             "request can be run again");
  if (d->status_code == 405 || d->status_code == 413)
    return ErrorResponse(ErrorCode::kConflict, "delivery " + d->id + " was refused (" +
                                                   std::to_string(d->status_code) +
                                                   ") and has no payload to run");
  auto flow = store_.GetFlow(d->flow_id);
  if (!flow) return ErrorResponse(flow.error());
  auto trigger = DeliveryTrigger(*d);
  if (!trigger) {
    return ErrorResponse(
        ErrorCode::kConflict,
        "delivery " + d->id + "'s body cannot be read as its trigger: " + trigger.error().message);
  }
  if (std::string actor = req.caller.Actor(); !actor.empty()) (*trigger)["actor"] = actor;
  if (auto admitted = runs_.Admit(); !admitted) {
    HttpResponse res = ErrorResponse(admitted.error());
    res.headers.emplace_back("Retry-After", std::to_string(RunService::kRetryAfterSeconds));
    return res;
  }
  auto run = runs_.Enqueue(*flow, "webhook", std::move(*trigger));
  if (!run) return ErrorResponse(run.error());
  return Answer(202, RunToJson(*run));
}

void WebhookReceiver::PruneLoop() {
  constexpr int kBatch = 500;
  std::unique_lock lock(prune_mu_);
  while (!stopping_) {
    lock.unlock();
    TimePoint now = clock_.Now();
    TimePoint before = now - std::chrono::duration_cast<Millis>(options_.retain_age);
    TimePoint keys_before = now - std::chrono::duration_cast<Millis>(options_.idempotency_window);
    std::vector<std::string> flow_ids{""};
    if (auto flows = store_.ListFlows())
      for (const auto& f : *flows) flow_ids.push_back(f.id);
    for (const auto& id : flow_ids) {
      // Small batches: never a long write lock in front of webhooks and runs.
      for (int round = 0; round < 1000; ++round) {
        auto n = store_.PruneWebhookData(id, before, id.empty() ? 0 : options_.retain_count,
                                         keys_before, kBatch);
        if (!n || *n < kBatch) break;
        std::lock_guard stop(prune_mu_);
        if (stopping_) return;
      }
    }
    lock.lock();
    prune_cv_.wait_for(lock, options_.prune_every, [this] { return stopping_; });
  }
}

}  // namespace weft::server::hooks
