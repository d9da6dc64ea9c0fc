// http.new_items: the "New data" poll source over any HTTP API (docs/polling.md).
// One request (every page of it, as http.request's paginate says) with the
// connection's auth; `items` finds the list in each page, `key` names each
// item's identity (a version of it: `id & "@" & updated_at`), and `cursor`
// (optional) is sent back next time as `cursor_param`, so an API that can
// answer "changed since" is not listed whole at each poll.
#include "connectors/http/http_poll.h"

#include <algorithm>
#include <set>

#include "connectors/common/spec.h"
#include "connectors/http/http_client.h"
#include "expr/expr.h"

namespace weft::connectors::http {
namespace {

Error ExprFailure(const std::string& field, const expr::ExprError& e) {
  std::string message = "with." + field + ": " + e.code + " " + e.message;
  return Error{ErrorCode::kValidation, message, {{"with." + field, e.code + " " + e.message}}};
}

Result<expr::ExpressionPtr> CompileInput(const Json& with, const char* field, bool required,
                                         const std::string& fallback = "") {
  auto text = OptString(with, field);
  if (!text) return Fail(text.error());
  std::string source = text->value_or("");
  if (source.empty()) source = fallback;
  if (source.empty()) {
    if (!required) return expr::ExpressionPtr();
    return Fail(ErrorCode::kValidation, std::string("with.") + field + " is required",
                {{std::string("with.") + field, "is required"}});
  }
  if (source.size() > 10'000)
    return Fail(ErrorCode::kValidation,
                std::string("with.") + field + " is longer than 10000 characters",
                {{std::string("with.") + field, "is longer than 10000 characters"}});
  auto compiled = expr::Expression::Compile(source);
  if (compiled.error) return Fail(ExprFailure(field, *compiled.error));
  return compiled.expression;
}

struct Opts {
  std::string url, method = "GET";
  Json headers = Json::object(), query = Json::object(), body;
  Paging paging;
  ItemRules rules;
  std::string cursor_param = "since";
};

Result<Opts> Options(const Json& with) {
  Opts o;
  auto url = ReqString(with, "url");
  if (!url) return Fail(url.error());
  o.url = *url;
  auto method = OptString(with, "method");
  if (!method) return Fail(method.error());
  o.method = method->value_or("GET");
  std::transform(o.method.begin(), o.method.end(), o.method.begin(), ::toupper);
  if (o.method != "GET" && o.method != "POST")
    return Fail(ErrorCode::kValidation, "with.method must be GET or POST",
                {{"with.method", "must be GET or POST"}});
  for (const char* field : {"headers", "query"}) {
    if (!with.contains(field) || with[field].is_null()) continue;
    if (!with[field].is_object())
      return Fail(ErrorCode::kValidation, std::string("with.") + field + " must be an object",
                  {{std::string("with.") + field, "must be an object"}});
    (std::string(field) == "headers" ? o.headers : o.query) = with[field];
  }
  if (with.contains("body")) o.body = with["body"];
  auto paging = ParsePaging(with.value("paginate", Json(nullptr)));
  if (!paging) return Fail(paging.error());
  o.paging = *paging;
  auto items = CompileInput(with, "items", false, "$");
  if (!items) return Fail(items.error());
  o.rules.items = *items;
  auto key = CompileInput(with, "key", true);
  if (!key) return Fail(key.error());
  o.rules.key = *key;
  auto cursor = CompileInput(with, "cursor", false);
  if (!cursor) return Fail(cursor.error());
  o.rules.cursor = *cursor;
  auto param = OptString(with, "cursor_param");
  if (!param) return Fail(param.error());
  if (*param && !(*param)->empty()) o.cursor_param = **param;
  auto ordered = OptBool(with, "ordered");
  if (!ordered) return Fail(ordered.error());
  o.rules.ordered = ordered->value_or(false);
  return o;
}

}  // namespace

ItemCollector::ItemCollector(ItemRules rules, PollContext& ctx)
    : rules_(std::move(rules)), ctx_(ctx) {
  limits_.cancel = &ctx.cancelled;
  since_ = ctx.cursor.is_object() ? ctx.cursor.value("since", Json()) : Json();
}

Error ItemCollector::ExprFailure(const std::string& field, const expr::ExprError& e) const {
  std::string at = rules_.path + field;
  return Error{ErrorCode::kValidation,
               at + ": " + e.code + " " + e.message,
               {{at, e.code + " " + e.message}}};
}

Result<bool> ItemCollector::Page(Json& body, bool& empty) {
  Json page = Json::array();
  if (rules_.items) {
    auto found = rules_.items->Evaluate(body, {}, limits_);
    if (!found.ok()) return Fail(ExprFailure("items", *found.error));
    if (found.value && found.value->is_array())
      page = std::move(*found.value);
    else if (found.value && !found.value->is_null())
      page.push_back(std::move(*found.value));
  } else if (body.is_array()) {
    page = body;
  } else if (!body.is_null()) {
    page.push_back(body);
  }
  empty = page.empty();
  last_page_size_ = page.size();
  for (auto& item : page) {
    if (listed_.size() >= kMaxListed)
      return Fail(ErrorCode::kValidation,
                  "the listing holds more than " + std::to_string(kMaxListed) +
                      " items: narrow it (a cursor, a filter in the query)");
    auto key = rules_.key->Evaluate(item, {}, limits_);
    if (!key.ok()) return Fail(ExprFailure("key", *key.error));
    if (!key.value || !(key.value->is_string() || key.value->is_number())) {
      std::string got = key.value ? key.value->dump() : "nothing";
      return Fail(
          ErrorCode::kValidation,
          rules_.path + "key gave " + got.substr(0, 100) +
              " for an item (it must give a string or a number): " + item.dump().substr(0, 200),
          {{rules_.path + "key", "must give a string or a number for every item"}});
    }
    std::string k = ScalarText(*key.value);
    // The same version listed twice (it moved between pages): once.
    if (!keys_seen_.insert(k).second) continue;
    listed_.push_back({std::move(k), std::move(item)});
  }
  last_body_ = std::move(body);
  // An API that lists oldest first: once a page brings the poll to
  // max_items new items, the later pages can wait for the next poll.
  if (rules_.ordered && ctx_.seen && listed_.size() > seen_.size()) {
    std::vector<std::string> keys;
    for (size_t i = seen_.size(); i < listed_.size(); ++i) keys.push_back(listed_[i].key);
    auto r = ctx_.seen(keys);
    if (!r) return Fail(r.error());
    for (bool b : *r) {
      seen_.push_back(b);
      fresh_ += b ? 0 : 1;
    }
    if (fresh_ >= ctx_.max_items) {
      stopped_ = true;
      return true;
    }
  }
  return false;
}

Result<PollResult> ItemCollector::Finish() {
  // Which were emitted before: one indexed lookup each.
  std::vector<std::string> keys;
  keys.reserve(listed_.size());
  for (const auto& item : listed_) keys.push_back(item.key);
  if (seen_.size() != listed_.size()) {
    seen_.assign(keys.size(), false);
    if (ctx_.seen) {
      auto r = ctx_.seen(keys);
      if (!r) return Fail(r.error());
      seen_ = std::move(*r);
    }
  }
  PollResult out;
  size_t cut = listed_.size();  // the first new item left for the next poll
  for (size_t i = 0; i < listed_.size(); ++i) {
    if (seen_[i]) {
      out.known.push_back(listed_[i].key);
      continue;
    }
    if (out.items.size() >= ctx_.max_items) {
      out.more = true;
      cut = std::min(cut, i);
      continue;
    }
    out.items.push_back(listed_[i]);
  }
  if (stopped_) out.more = true;  // pages left unread
  // The cursor moves only once every listed item is committed: stopping
  // short at max_items lists the rest again from the same cursor, unless
  // the API lists oldest first (`ordered`): then the cursor is taken from
  // the items committed (their response is not: it lists more).
  if (rules_.cursor && (!out.more || rules_.ordered)) {
    Json all = Json::array();
    for (const auto& item : out.items) all.push_back(item.item);
    Json input = {{"response", out.more ? Json() : last_body_}, {"items", all}, {"cursor", since_}};
    // Known items too: a cursor taken from the newest item must see them.
    // (Only those before the first item left over: later ones are newer.)
    for (size_t i = 0; i < cut; ++i)
      if (seen_[i]) input["items"].push_back(listed_[i].item);
    auto next = rules_.cursor->Evaluate(input, {}, limits_);
    if (!next.ok()) return Fail(ExprFailure("cursor", *next.error));
    if (next.value && !next.value->is_null() && *next.value != since_)
      out.cursor = Json{{"since", *next.value}};
  }
  return out;
}

namespace {

class NewItemsSource : public PollSource {
 public:
  explicit NewItemsSource(ConnectorSpec spec) : spec_(std::move(spec)) {}

  Result<PollResult> Poll(PollContext& ctx) override {
    auto opts = Options(ctx.with);
    if (!opts) return Fail(opts.error());
    Settings settings = ReadSettings(ctx.connection);
    Redactor redact = ctx.connection ? Redactor(*ctx.connection, spec_) : Redactor();
    CallEnv env{ctx.clock, ctx.deadline, ctx.cancelled};
    Client client(env, settings, redact, nullptr);

    PageSource source;
    source.url = JoinUrl(settings.base_url, opts->url);
    if (!IsAbsolute(source.url))
      return Fail(ErrorCode::kValidation,
                  "with.url \"" + redact(source.url) +
                      "\" is not absolute and the connection has no base_url",
                  {{"with.url", "is not absolute and the connection has no base_url"}});
    source.paging = opts->paging;
    source.response_type = "json";
    source.base.method = opts->method;
    for (auto& [k, v] : settings.headers.items()) SetHeader(source.base.headers, k, ScalarText(v));
    for (auto& [k, v] : opts->headers.items())
      if (!v.is_null()) SetHeader(source.base.headers, k, ScalarText(v));
    SetHeader(source.base.headers, "Accept", "application/json");
    if (opts->method == "POST" && !opts->body.is_null()) {
      source.base.body = opts->body.dump();
      source.base.has_body = true;
      if (!FindHeader(source.base.headers, "Content-Type"))
        SetHeader(source.base.headers, "Content-Type", "application/json");
    }
    AddParams(opts->query, source.query);
    // The committed cursor goes back to the API: "what changed since".
    ItemCollector collector(opts->rules, ctx);
    if (opts->rules.cursor && !collector.since().is_null()) {
      std::erase_if(source.query, [&](const auto& kv) { return kv.first == opts->cursor_param; });
      source.query.emplace_back(opts->cursor_param, ScalarText(collector.since()));
    }

    std::optional<Error> failure;
    auto fetched = FetchPages(
        source, client, ctx.connection, ctx.clock, ctx.cancelled, redact,
        [&](const Call& call, Response& r, Json& body, bool, bool& empty) {
          if (ctx.log)
            ctx.log("info",
                    redact(call.method + " " + call.url + " -> " + std::to_string(r.status)));
          auto stop = collector.Page(body, empty);
          if (!stop) {
            failure = stop.error();
            return std::optional<ActionOutcome>(ActionOutcome::Failed(stop.error().code, ""));
          }
          if (*stop) return std::optional<ActionOutcome>(ActionOutcome::Ok(Json()));
          return std::optional<ActionOutcome>();
        });
    if (failure) return Fail(*failure);
    if (!fetched.ok) {
      const Error& e = *fetched.failure->error;
      return Fail(e.code, e.message);
    }
    return collector.Finish();
  }

 private:
  ConnectorSpec spec_;
};

}  // namespace

PollSpec NewItemsSpec() {
  return {
      "new_items",
      "New or updated items",
      "Lists an API's items (every page) and starts a run for each item, or each version of an "
      "item, not seen before.",
      {Field("url", "URL", "string", true, "Absolute, or relative to the connection's base URL."),
       Field("method", "Method", "enum", false, "", "GET", {"GET", "POST"}),
       Field("headers", "Headers", "object", false, "Added to the connection's default headers."),
       Field("query", "Query parameters", "object", false, ""),
       Field("body", "Body", "any", false, "Sent as JSON with method POST."),
       Field("paginate", "Pagination", "object", false,
             "As http.request's: {type: link}, {type: cursor, cursor: \"meta.next\", "
             "cursor_param: \"cursor\"} or {type: page, page_param: \"page\"}; max_pages "
             "(default 100)."),
       Field("items", "Items", "string", false,
             "JSONata over each page's body: where the list is, e.g. data.items. Default: the "
             "body itself."),
       Field("key", "Key", "string", true,
             "JSONata over an item: its identity. id emits each item once; id & \"@\" & "
             "updated_at emits each version."),
       Field("cursor", "Cursor", "string", false,
             "JSONata over {response, items, cursor}: the value sent back next time, e.g. "
             "$max(items.updated_at) or response.sync_token. Kept when it gives nothing."),
       Field("cursor_param", "Cursor parameter", "string", false,
             "The query parameter that carries the cursor.", "since"),
       Field("ordered", "Listed oldest first", "boolean", false,
             "The API lists items in the cursor's order, oldest first: a poll that reaches "
             "1,000 new items stops reading pages and moves the cursor to where it stopped.",
             false)},
      "the item as the API lists it"};
}

std::shared_ptr<PollSource> MakeNewItemsSource(const ConnectorSpec& spec) {
  return std::make_shared<NewItemsSource>(spec);
}

}  // namespace weft::connectors::http
