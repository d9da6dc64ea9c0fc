// A manifest action run: the step's input checked against the action's
// schema, the request built from the manifest's templates, sent through the
// http connector's client (connectors/http/http_client.h), pages collected,
// the vendor's error shape read, the output JSONata applied.
#include <algorithm>
#include <set>

#include "connectors/common/curl.h"
#include "connectors/common/redact.h"
#include "connectors/common/spec.h"
#include "connectors/http/http_client.h"
#include "connectors/http/http_poll.h"
#include "connectors/manifest/manifest.h"
#include "core/files.h"
#include "core/input_schema.h"

namespace weft::connectors::manifest {
namespace {

using http::Call;
using http::Client;
using http::Response;

// The connection's settings with the manifest's field defaults filled in.
Json SettingsOf(const Manifest& m, const Connection* c) {
  Json out = c && c->settings.is_object() ? c->settings : Json::object();
  for (const auto& f : m.fields)
    if ((!out.contains(f.name) || out[f.name].is_null()) && !f.default_value.is_null())
      out[f.name] = f.default_value;
  return out;
}

// The connection's auth in the http client's terms: the manifest's fixed
// parts (API key placement, OAuth2 URLs) filled in where the connection has none.
Json AuthOf(const Manifest& m, const Connection* c) {
  Json auth = c && c->auth.is_object() ? c->auth : Json::object();
  const ManifestAuth& a = m.auth;
  if (a.type == "api_key") {
    auth["type"] = "api_key";
    auth["in"] = a.in;
    auth["name"] = a.name;
  } else if (a.type == "oauth2") {
    auth["type"] = a.grant == "client_credentials" ? "oauth2_client_credentials" : "oauth2_code";
    auto fill = [&](const char* k, const std::string& v) {
      if (!v.empty() && GetString(auth, k).empty()) auth[k] = v;
    };
    fill("authorize_url", a.authorize_url);
    fill("token_url", a.token_url);
    fill("scope", a.scope);
    fill("client_auth", a.client_auth);
  } else {
    auth["type"] = a.type;
  }
  return auth;
}

ActionOutcome Invalid(const std::string& message) {
  return ActionOutcome::Failed(ErrorCode::kValidation, message);
}

// One evaluation of a manifest expression over `input`; undefined is null.
Result<Json> Eval(const expr::ExpressionPtr& e, const Json& input,
                  const std::map<std::string, Json>& bindings, const expr::EvalLimits& limits) {
  auto r = e->Evaluate(input, bindings, limits);
  if (r.error) return Fail(ErrorCode::kStepFailed, r.error->code + ": " + r.error->message);
  return r.value.value_or(Json(nullptr));
}

class Runner {
 public:
  Runner(const Manifest& m, const ConnectorSpec& spec, ActionContext& ctx)
      : m_(m),
        ctx_(ctx),
        redact_(ctx.connection ? Redactor(*ctx.connection, spec) : Redactor()),
        env_(EnvOf(ctx)),
        settings_(http::ReadSettings(ctx.connection)),
        client_(env_, settings_, redact_, ctx.files),
        auth_(AuthOf(m, ctx.connection)),
        limits_(ctx.expr_limits ? *ctx.expr_limits : expr::EvalLimits{}) {
    limits_.cancel = &ctx.cancelled;
  }

  ActionOutcome Run(const ManifestAction& a, const Json& input) {
    input_ = input;
    Json tctx = {
        {"input", input}, {"connection", SettingsOf(m_, ctx_.connection)}, {"auth", auth_}};
    auto base = m_.base_url.Render(tctx, limits_);
    if (!base) return Invalid("connection.base_url: " + redact_(base.error().message));
    std::string base_url = *base && (*base)->is_string() ? (*base)->get<std::string>() : "";
    if (!http::IsAbsolute(base_url))
      return Invalid("the connection's base URL \"" + redact_(base_url) +
                     "\" is not an http(s) URL (set the connection's fields)");

    // The path, with each {name} percent-encoded from the input.
    std::string path;
    for (size_t i = 0; i < a.path.size(); ++i) {
      if (a.path[i] != '{') {
        path += a.path[i];
        continue;
      }
      size_t end = a.path.find('}', i);
      std::string name = a.path.substr(i + 1, end - i - 1);
      const Json& v = input.contains(name) ? input[name] : Json(nullptr);
      if (v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()))
        return Invalid("with." + name + " is required (it is part of the path)");
      path += UrlEncode(http::ScalarText(v));
      i = end;
    }

    Call call;
    call.method = a.method;
    if (auto t = ctx_.connection ? OptDuration(ctx_.connection->settings, "timeout")
                                 : Result<std::optional<Millis>>(std::nullopt);
        t && *t)
      call.timeout = **t;
    for (const JsonTemplate* h : {&m_.headers, &a.headers}) {
      auto rendered = h->Render(tctx, limits_);
      if (!rendered) return Invalid("headers: " + redact_(rendered.error().message));
      if (*rendered && (*rendered)->is_object())
        for (auto& [k, v] : (*rendered)->items())
          if (!v.is_null()) http::SetHeader(call.headers, k, http::ScalarText(v));
    }
    std::vector<std::pair<std::string, std::string>> query;
    if (auto q = a.query.Render(tctx, limits_); !q) {
      return Invalid("query: " + redact_(q.error().message));
    } else if (*q && (*q)->is_object()) {
      http::AddParams(**q, query);
    }
    for (const auto& [k, v] : set_query_) query = With(std::move(query), k, v);

    // The body.
    auto body = a.body.Render(tctx, limits_);
    if (!body) return Invalid("body: " + redact_(body.error().message));
    Json auth = auth_;
    if (m_.auth.type == "api_key" && m_.auth.in == "body") {
      // A key carried in the body (Mailchimp Transactional): added here, then no header.
      if (!*body) *body = Json::object();
      if ((*body)->is_object()) (**body)[m_.auth.name] = GetString(auth_, "value");
      redact_.Add(GetString(auth_, "value"));
      auth = Json{{"type", "none"}};
    }
    if (*body && a.method != "GET" && a.method != "HEAD") {
      const Json& b = **body;
      if (a.body_type == "json") {
        call.body = b.dump();
        if (!http::FindHeader(call.headers, "Content-Type"))
          http::SetHeader(call.headers, "Content-Type", "application/json");
      } else if (a.body_type == "form") {
        if (!b.is_object()) return Invalid("a form body must be an object");
        call.body = http::FormEncode(b);
        if (!http::FindHeader(call.headers, "Content-Type"))
          http::SetHeader(call.headers, "Content-Type", "application/x-www-form-urlencoded");
      } else if (a.body_type == "text") {
        call.body = http::ScalarText(b);
        if (!http::FindHeader(call.headers, "Content-Type"))
          http::SetHeader(call.headers, "Content-Type", "text/plain; charset=utf-8");
      } else if (a.body_type == "multipart") {
        if (!b.is_object()) return Invalid("a multipart body must be an object of parts");
        call.multipart = b;
      } else if (a.body_type == "file") {
        if (!IsFileValue(b)) return Invalid("the body must be a file value");
        if (!ctx_.files) return Invalid("files are not enabled on this server");
        auto info = ctx_.files->Stat(b.value("id", ""));
        if (!info) return Invalid("with: " + info.error().message);
        call.upload_file = *info;
        if (!http::FindHeader(call.headers, "Content-Type"))
          http::SetHeader(call.headers, "Content-Type", info->content_type);
      }
      call.has_body = true;
    }
    if (a.response == "file") {
      if (!ctx_.files) return Invalid("this action writes a file, and files are not enabled");
      call.file_response = true;
    } else if (a.response == "auto" && !a.paginate) {
      call.auto_file = ctx_.files != nullptr;
    }
    std::string url = http::JoinUrl(base_url, path);
    return a.paginate ? Pages(a, call, url, query) : Once(a, call, url, query);
  }

  ActionOutcome Test(const ManifestAction& t) {
    ManifestAction a = t;
    a.response = "json";
    ActionOutcome o = Run(a, Json::object());
    return o;
  }

 private:
  // One exchange with the vendor's error handling; the parsed body on success.
  std::variant<Json, ActionOutcome> Send(const ManifestAction& a, Call call, Response* r) {
    const Json& auth = m_.auth.type == "api_key" && m_.auth.in == "body" ? kNone : auth_;
    auto got = http::Exchange(call, client_, auth, ctx_.connection ? ctx_.connection->id : "",
                              ctx_.clock, redact_);
    if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
    *r = std::move(std::get<Response>(got));
    ctx_.log("info", redact_(call.method + " " + call.url + " -> " + std::to_string(r->status)));
    bool base64 = false;
    Json body = r->file ? r->file->ToJson()
                        : http::ParseBody(*r, a.response == "file" ? "auto" : a.response, &base64);
    if (r->status < 200 || r->status >= 300) return Failure(call, *r, body);
    if (m_.error_when && !r->file) {
      auto failed = Eval(m_.error_when, body, {{"status", r->status}}, limits_);
      if (!failed)
        return ActionOutcome::Failed(failed.error().code, "errors.when: " + failed.error().message);
      if (failed->is_boolean() && failed->get<bool>()) return Failure(call, *r, body);
    }
    return body;
  }

  ActionOutcome Failure(const Call& call, const Response& r, const Json& body) {
    ActionOutcome o = http::StatusFailure(call, r, redact_);
    o.retryable =
        std::find(m_.retryable.begin(), m_.retryable.end(), r.status) != m_.retryable.end();
    if (m_.error_message && !body.is_null()) {
      auto msg = Eval(m_.error_message, body, {{"status", r.status}}, limits_);
      if (msg && !msg->is_null()) {
        std::string text = http::ScalarText(*msg);
        if (text.size() > 500) text = text.substr(0, 500) + "...";
        o.error->message = redact_(m_.title + ": " + text + " (HTTP " + std::to_string(r.status) +
                                   " from " + call.method + " " + call.url + ")");
      }
    }
    return o;
  }

  ActionOutcome Output(const ManifestAction& a, const Json& body, const Response& r) {
    if (!a.output) return ActionOutcome::Ok(body);
    auto out =
        Eval(a.output, body,
             {{"status", r.status}, {"headers", http::HeadersToJson(r.headers)}, {"input", input_}},
             limits_);
    if (!out)
      return ActionOutcome::Failed(out.error().code,
                                   "actions." + a.name + ".output: " + out.error().message);
    return ActionOutcome::Ok(std::move(*out));
  }

  ActionOutcome Once(const ManifestAction& a, Call call, const std::string& url,
                     const std::vector<std::pair<std::string, std::string>>& query) {
    call.url = http::WithQuery(url, query);
    Response r;
    auto got = Send(a, call, &r);
    if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
    if (on_page_) {
      size_t count = 0;
      if (auto stop = on_page_(std::get<Json>(got), count); !stop)
        return ActionOutcome::Failed(stop.error().code, stop.error().message);
      return ActionOutcome::Ok(Json());
    }
    return Output(a, std::get<Json>(got), r);
  }

  static std::vector<std::pair<std::string, std::string>> With(
      std::vector<std::pair<std::string, std::string>> q, const std::string& k,
      const std::string& v) {
    std::erase_if(q, [&](const auto& kv) { return kv.first == k; });
    q.emplace_back(k, v);
    return q;
  }

  // The URL of the page after `body` (empty: none), as the style says.
  std::optional<ActionOutcome> NextPage(
      const Pagination& p, const Json& body, const Response& r, const Call& call,
      const std::string& url, const std::vector<std::pair<std::string, std::string>>& query,
      size_t count, int64_t& offset, int64_t& page, std::string& next) {
    next.clear();
    if (p.type == "cursor") {
      auto c = Eval(p.cursor, body, {}, limits_);
      if (!c) return ActionOutcome::Failed(c.error().code, "paginate.cursor: " + c.error().message);
      if (!c->is_null() && *c != "" && *c != false)
        next = http::WithQuery(url, With(query, p.param, http::ScalarText(*c)));
    } else if (p.type == "offset") {
      if (count > 0 && (p.limit == 0 || count >= static_cast<size_t>(p.limit))) {
        offset += static_cast<int64_t>(count);
        auto q2 = With(query, p.param, std::to_string(offset));
        if (p.limit > 0) q2 = With(q2, p.limit_param, std::to_string(p.limit));
        next = http::WithQuery(url, q2);
      }
    } else if (p.type == "page") {
      if (count > 0) next = http::WithQuery(url, With(query, p.param, std::to_string(++page)));
    } else if (p.type == "link") {
      next = http::NextLink(r.headers, r.effective_url.empty() ? call.url : r.effective_url);
    } else if (p.type == "next_url") {
      auto v = Eval(p.next_url, body, {}, limits_);
      if (!v) return ActionOutcome::Failed(v.error().code, "paginate.next: " + v.error().message);
      if (v->is_string() && !v->get_ref<const std::string&>().empty()) {
        std::string u = v->get<std::string>();
        if (http::IsAbsolute(u)) {
          next = u;
        } else if (u.starts_with("/")) {
          // A path from the host's root (Twilio's next_page_uri).
          size_t slash = url.find('/', url.find("://") + 3);
          next = url.substr(0, slash) + u;
        } else {
          next = http::JoinUrl(url.substr(0, url.rfind('/') + 1), u);
        }
        // The next page must stay on the connection's host: a body cannot send
        // the credentials elsewhere.
        auto origin = [](const std::string& s) {
          size_t sc = s.find("://");
          size_t sl = sc == std::string::npos ? std::string::npos : s.find('/', sc + 3);
          return s.substr(0, sl);
        };
        if (origin(next) != origin(url))
          return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                       "paginate: the next page " + redact_(next) +
                                           " is on another host than " + origin(url));
      }
    }
    return std::nullopt;
  }

  ActionOutcome Pages(const ManifestAction& a, Call base, const std::string& url,
                      const std::vector<std::pair<std::string, std::string>>& query) {
    const Pagination& p = *a.paginate;
    Json items = Json::array();
    Response r;
    int64_t offset = p.start, page = p.start;
    auto q = query;
    if (p.type == "offset") {
      q = With(q, p.param, std::to_string(offset));
      if (p.limit > 0) q = With(q, p.limit_param, std::to_string(p.limit));
    } else if (p.type == "page") {
      q = With(q, p.param, std::to_string(page));
    }
    std::string next = http::WithQuery(url, q);
    for (int64_t n = 1;; ++n) {
      if (ctx_.cancelled.load()) return ActionOutcome::Failed(ErrorCode::kCancelled, "cancelled");
      Call call = base;
      call.url = next;
      auto got = Send(a, call, &r);
      if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
      Json& body = std::get<Json>(got);
      size_t count = 0;
      if (on_page_) {
        // A trigger's listing: the collector reads the page's items (and
        // keeps the body, so it gets a copy: the next page is read from it).
        Json copy = body;
        auto stop = on_page_(copy, count);
        if (!stop) return ActionOutcome::Failed(stop.error().code, stop.error().message);
        pages_ = n;
        if (*stop || n >= p.max_pages) return ActionOutcome::Ok(Json());
        if (auto failed = NextPage(p, body, r, call, url, query, count, offset, page, next))
          return std::move(*failed);
        if (next.empty()) return ActionOutcome::Ok(Json());
        continue;
      }
      Json page_items = body;
      if (p.items) {
        auto v = Eval(p.items, body, {}, limits_);
        if (!v)
          return ActionOutcome::Failed(v.error().code, "paginate.items: " + v.error().message);
        page_items = std::move(*v);
      }
      if (page_items.is_array()) {
        count = page_items.size();
        for (auto& e : page_items) items.push_back(std::move(e));
      } else if (!page_items.is_null()) {
        count = 1;
        items.push_back(std::move(page_items));
      }
      pages_ = n;
      if (n >= p.max_pages) break;
      if (auto failed = NextPage(p, body, r, call, url, query, count, offset, page, next))
        return std::move(*failed);
      if (next.empty()) break;
    }
    return Output(a, items, r);
  }

  static inline const Json kNone = Json{{"type", "none"}};
  const Manifest& m_;
  ActionContext& ctx_;
  Redactor redact_;
  CallEnv env_;
  http::Settings settings_;
  Client client_;
  Json auth_;
  expr::EvalLimits limits_;
  Json input_;

 public:
  int64_t pages_ = 0;
  // A trigger's listing: each page's body goes here instead of the output
  // (count: its items, for offset paging); true stops the listing.
  std::function<Result<bool>(Json& body, size_t& count)> on_page_;
  // Query parameters set over the rendered ones (a trigger's cursor).
  std::vector<std::pair<std::string, std::string>> set_query_;
};

class ManifestActionImpl : public Action {
 public:
  ManifestActionImpl(std::shared_ptr<const Manifest> m, const ManifestAction* a, ConnectorSpec spec)
      : m_(std::move(m)), a_(a), spec_(std::move(spec)) {}

  ActionOutcome Execute(ActionContext& ctx) override {
    if (!ctx.connection)
      return Invalid("\"" + m_->name + "." + a_->name + "\" needs a connection of " + m_->title);
    Json input = WithDefaults(a_->input, ctx.input.is_object() ? ctx.input : Json::object());
    std::vector<FieldError> problems;
    CheckValue(a_->input, input, "with", problems, true);
    // Inputs the schema does not name are refused (as at save time).
    if (a_->input.contains("properties"))
      for (auto it = input.begin(); it != input.end(); ++it)
        if (!a_->input["properties"].contains(it.key()))
          problems.push_back({"with." + it.key(), "is not an input of this action"});
    if (!problems.empty()) {
      std::string msg = problems.front().path + " " + problems.front().message;
      ActionOutcome o = Invalid(msg);
      o.error->details = std::move(problems);
      return o;
    }
    Runner runner(*m_, spec_, ctx);
    return runner.Run(*a_, input);
  }

 private:
  std::shared_ptr<const Manifest> m_;
  const ManifestAction* a_;
  ConnectorSpec spec_;
};

// A manifest trigger as a poll source: the request built as the action's
// (connection, auth, base URL, templates, pagination), the listing read by
// http.new_items' collector (keys, seen before, cursor).
class ManifestPollSource : public PollSource {
 public:
  ManifestPollSource(std::shared_ptr<const Manifest> m, const ManifestTrigger* t,
                     ConnectorSpec spec)
      : m_(std::move(m)), t_(t), spec_(std::move(spec)) {}

  Result<PollResult> Poll(PollContext& pc) override {
    const std::string uses = m_->name + "." + t_->name;
    if (!pc.connection)
      return Fail(ErrorCode::kValidation, "\"" + uses + "\" needs a connection of " + m_->title);
    const ManifestAction& a = t_->request;
    Json input = WithDefaults(a.input, pc.with.is_object() ? pc.with : Json::object());
    std::vector<FieldError> problems;
    CheckValue(a.input, input, "with", problems, true);
    if (a.input.contains("properties"))
      for (auto it = input.begin(); it != input.end(); ++it)
        if (!a.input["properties"].contains(it.key()))
          problems.push_back({"with." + it.key(), "is not an input of \"" + uses + "\""});
    if (!problems.empty()) {
      std::string msg = problems.front().path + " " + problems.front().message;
      return Fail(ErrorCode::kValidation, msg, std::move(problems));
    }

    std::string run_id, step = "trigger";
    ActionContext ctx{input,
                      pc.connection,
                      run_id,
                      step,
                      pc.clock,
                      pc.deadline,
                      pc.cancelled,
                      [&pc](const std::string& level, const std::string& message) {
                        if (pc.log) pc.log(level, message);
                      }};
    Runner runner(*m_, spec_, ctx);
    http::ItemRules rules;
    rules.items = t_->items ? t_->items : (a.paginate ? a.paginate->items : nullptr);
    rules.key = t_->key;
    rules.cursor = t_->cursor;
    rules.ordered = t_->ordered;
    rules.path = "triggers." + t_->name + ".";
    http::ItemCollector collector(std::move(rules), pc);
    // The committed cursor goes back to the API: "what changed since".
    if (t_->cursor && !collector.since().is_null())
      runner.set_query_.emplace_back(t_->cursor_param, http::ScalarText(collector.since()));
    std::optional<Error> failure;
    runner.on_page_ = [&](Json& body, size_t& count) -> Result<bool> {
      bool empty = false;
      auto stop = collector.Page(body, empty);
      if (!stop) {
        failure = stop.error();
        return Fail(stop.error());
      }
      count = collector.last_page_size();
      return *stop;
    };
    ActionOutcome o = runner.Run(a, input);
    if (failure) return Fail(*failure);
    if (o.error) return Fail(o.error->code, o.error->message);
    return collector.Finish();
  }

 private:
  std::shared_ptr<const Manifest> m_;
  const ManifestTrigger* t_;
  ConnectorSpec spec_;
};

}  // namespace

Result<void> RegisterManifest(ActionCatalog& catalog, std::shared_ptr<const Manifest> m,
                              bool replace) {
  const ConnectorSpec* existing = catalog.FindConnector(m->name);
  if (existing && !(replace && existing->source == "user"))
    return Fail(
        ErrorCode::kConflict,
        "a connector named \"" + m->name + "\" exists already" +
            (existing->source.empty() || existing->source == "builtin" ? " (built into weft)" : ""),
        {{"name", "is taken"}});
  ConnectorSpec spec = ToConnectorSpec(*m);
  std::map<std::string, std::shared_ptr<Action>> actions;
  for (const auto& a : m->actions)
    actions[a.name] = std::make_shared<ManifestActionImpl>(m, &a, spec);
  ConnectorSpec tester_spec = spec;
  ConnectionTester tester = [m, tester_spec](const Connection& c, Clock& clock) {
    std::atomic<bool> cancelled{false};
    if (!m->test) return ConnectionTestResult{true, "the manifest names no test request"};
    Json input = Json::object();
    std::string run_id, step;
    ActionContext ctx{input,     &c,
                      run_id,    step,
                      clock,     clock.Now() + Millis(15'000),
                      cancelled, [](const std::string&, const std::string&) {}};
    Runner runner(*m, tester_spec, ctx);
    ActionOutcome o = runner.Test(*m->test);
    if (o.error) return ConnectionTestResult{false, o.error->message};
    return ConnectionTestResult{true, m->test->method + " " + m->test->path + " succeeded"};
  };
  std::string name = m->name;
  bool code_grant = m->auth.type == "oauth2" && m->auth.grant == "authorization_code";
  if (existing)
    catalog.Replace(std::move(spec), std::move(actions), std::move(tester));
  else
    catalog.Register(std::move(spec), std::move(actions), std::move(tester));
  for (const auto& t : m->triggers)
    catalog.RegisterPollSource(name, ToPollSpec(t),
                               std::make_shared<ManifestPollSource>(m, &t, tester_spec));
  if (code_grant)
    catalog.SetOAuthExchanger(
        name, "oauth2_code",
        [m, tester_spec](const Connection& c, const OAuthCodeGrant& grant, Clock& clock) {
          return http::ExchangeCode(c, AuthOf(*m, &c), grant, clock, tester_spec);
        });
  return {};
}

}  // namespace weft::connectors::manifest
