// Handlers outside flows and runs: health, OpenAPI, the connector catalog,
// expression preview, and the reserved webhook routes.
#include <map>
#include <memory>
#include <mutex>

#include "common/metrics.h"
#include "common/time_format.h"
#include "expr/expr.h"
#include "schedule/schedule.h"
#include "server/api/api.h"
#include "server/api/body.h"
#include "server/errors.h"

namespace weft::server {
namespace {

HttpResponse ExpressionError(const expr::ExprError& e) {
  Json err{{"code", e.code}, {"message", e.message}};
  if (e.position >= 0) err["position"] = e.position;
  if (!e.token.empty()) err["token"] = e.token;
  return HttpResponse::FromJson(400, Json{{"error", std::move(err)}});
}

}  // namespace

void AddMiscHandlers(HandlerTable& t, ApiServices& s) {
  t.emplace_back("healthz", [&s](HttpRequest&) {
    if (!s.ready()) return HttpResponse::FromJson(503, Json{{"status", "starting"}});
    return HttpResponse::Text(200, R"({"status":"ok"})", "application/json");
  });

  t.emplace_back("readyz", [&s](HttpRequest&) {
    Readiness r;
    if (s.readiness)
      r = s.readiness();
    else
      r.store_error = "readiness is not wired";
    bool writable = r.write_problem.empty();
    bool ready = r.store_reachable && r.migrations_applied && writable;
    Json store = {{"reachable", r.store_reachable},
                  {"writable", writable},
                  {"schema_version", r.schema_version},
                  {"migrations_applied", r.migrations_applied}};
    if (!r.store_error.empty()) store["error"] = r.store_error;
    if (!writable) store["write_error"] = r.write_problem;
    Json body = {{"ready", ready},
                 {"store", std::move(store)},
                 {"roles", r.roles},
                 {"scheduler", {{"held", r.scheduler_held}}}};
    return HttpResponse::FromJson(ready ? 200 : 503, body);
  });

  t.emplace_back("getMetrics", [](HttpRequest&) {
    if (!metrics::Enabled()) {
      return ErrorResponse(ErrorCode::kNotFound,
                           "metrics are off on this server (weft serve --metrics=false)");
    }
    return HttpResponse::Text(200, metrics::Default().Render(),
                              "text/plain; version=0.0.4; charset=utf-8");
  });

  t.emplace_back("getOpenApi", [](HttpRequest&) {
    return HttpResponse::Text(200, OpenApiText(), "application/json");
  });

  // Rendered once per change of the catalog (a manifest added or replaced).
  struct CatalogCache {
    std::mutex mu;
    uint64_t generation = ~uint64_t{0};
    std::shared_ptr<const std::string> text;
  };
  auto cache = std::make_shared<CatalogCache>();
  t.emplace_back("listConnectors", [&s, cache](HttpRequest&) {
    std::shared_ptr<const std::string> text;
    {
      std::lock_guard lock(cache->mu);
      if (cache->generation != s.catalog.generation()) {
        cache->generation = s.catalog.generation();
        cache->text = std::make_shared<const std::string>(s.catalog.ToJson().dump());
      }
      text = cache->text;
    }
    return HttpResponse::Text(200, *text, "application/json");
  });

  // The body is the manifest itself, YAML or JSON (docs/connector-manifests.md).
  t.emplace_back("createConnector", [&s](HttpRequest& req) {
    if (!s.install_connector)
      return ErrorResponse(ErrorCode::kUnavailable, "connector manifests are off on this server");
    auto entry = s.install_connector(req.body);
    if (!entry) return ErrorResponse(entry.error());
    return HttpResponse::FromJson(201, *entry);
  });

  // The body is the OpenAPI document; ?tag=, ?operation= (repeatable) and ?name= filter and name.
  t.emplace_back("importOpenApi", [&s](HttpRequest& req) {
    if (!s.import_openapi)
      return ErrorResponse(ErrorCode::kUnavailable, "the OpenAPI import is off on this server");
    std::vector<std::string> tags, operations;
    std::string name;
    for (const auto& [k, v] : ParseQueryString(req.query_string)) {
      if (k == "tag") tags.push_back(v);
      if (k == "operation") operations.push_back(v);
      if (k == "name") name = v;
    }
    auto out = s.import_openapi(req.body, tags, operations, name);
    if (!out) return ErrorResponse(out.error());
    return HttpResponse::FromJson(200, *out);
  });

  t.emplace_back("evaluateExpression", [&s](HttpRequest& req) {
    auto body = ParseJsonBody(req, false);
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object())
      return ErrorResponse(FieldProblem("body", "must be an object {expression, input, bindings}"));
    auto it = body->find("expression");
    if (it == body->end() || !it->is_string()) {
      return ErrorResponse(FieldProblem("expression", "is required and must be a string"));
    }
    std::map<std::string, Json> bindings;
    if (auto b = body->find("bindings"); b != body->end() && !b->is_null()) {
      if (!b->is_object()) return ErrorResponse(FieldProblem("bindings", "must be an object"));
      for (auto& [name, value] : b->items())
        bindings[name.starts_with("$") ? name.substr(1) : name] = value;
    }
    Json input;
    if (auto in = body->find("input"); in != body->end()) input = *in;
    auto compiled = expr::Expression::Compile(it->get<std::string>());
    if (compiled.error) return ExpressionError(*compiled.error);
    auto result = compiled.expression->Evaluate(input, bindings, s.expr_limits);
    if (result.error) return ExpressionError(*result.error);
    Json out = Json::object();
    if (result.value) out["result"] = *result.value;
    return HttpResponse::FromJson(200, out);
  });

  t.emplace_back("previewSchedule", [&s](HttpRequest& req) {
    auto body = ParseJsonBody(req, false);
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object())
      return ErrorResponse(FieldProblem("body", "must be an object {schedule, count, after}"));
    auto doc = body->find("schedule");
    if (doc == body->end() || !doc->is_object())
      return ErrorResponse(FieldProblem("schedule", "is required and must be an object"));
    size_t count = 5;
    if (auto c = body->find("count"); c != body->end() && !c->is_null()) {
      if (!c->is_number_integer() || c->get<int64_t>() < 1 || c->get<int64_t>() > 100) {
        return ErrorResponse(FieldProblem("count", "must be a whole number from 1 to 100"));
      }
      count = c->get<size_t>();
    }
    TimePoint after = s.clock.Now();
    if (auto a = body->find("after"); a != body->end() && !a->is_null()) {
      auto parsed = a->is_string() ? ParseIso(a->get<std::string>()) : std::nullopt;
      if (!parsed)
        return ErrorResponse(
            FieldProblem("after", "must be an ISO-8601 instant such as 2026-12-01T09:00:00Z"));
      after = *parsed;
    }
    auto schedule = ParseSchedule(*doc, s.flows.options().default_timezone);
    if (!schedule) {
      Error e = schedule.error();
      for (auto& d : e.details) d.path = "schedule." + d.path;
      return ErrorResponse(e);
    }
    return HttpResponse::FromJson(200, SchedulePreview(*schedule, after, count));
  });

  HttpHandler hooks = s.hooks;
  if (!hooks) {
    hooks = [](HttpRequest&) {
      return ErrorResponse(ErrorCode::kNotFound, "no webhook at this URL");
    };
  }
  t.emplace_back("receiveWebhook", hooks);
  t.emplace_back("receiveWebhookPath", hooks);
  auto unavailable = [](HttpRequest&) {
    return ErrorResponse(ErrorCode::kUnavailable, "deliveries are not kept by this server");
  };
  t.emplace_back("listDeliveries",
                 s.list_deliveries ? s.list_deliveries : HttpHandler(unavailable));
  t.emplace_back("getDelivery", s.get_delivery ? s.get_delivery : HttpHandler(unavailable));
  t.emplace_back("replayDelivery",
                 s.replay_delivery ? s.replay_delivery : HttpHandler(unavailable));
}

}  // namespace weft::server
