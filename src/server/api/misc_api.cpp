// Handlers outside flows and runs: health, OpenAPI, the connector catalog,
// expression preview, and the reserved webhook routes.
#include <map>

#include "expr/expr.h"
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

  t.emplace_back("getOpenApi", [](HttpRequest&) { return HttpResponse::Text(200, OpenApiText(), "application/json"); });

  // The catalog never changes after start-up: render it once.
  auto catalog_text = std::make_shared<std::string>();
  t.emplace_back("listConnectors", [&s, catalog_text](HttpRequest&) {
    static std::once_flag once;
    std::call_once(once, [&] { *catalog_text = s.catalog.ToJson().dump(); });
    return HttpResponse::Text(200, *catalog_text, "application/json");
  });

  t.emplace_back("evaluateExpression", [](HttpRequest& req) {
    auto body = ParseJsonBody(req, false);
    if (!body) return ErrorResponse(body.error());
    if (!body->is_object()) return ErrorResponse(FieldProblem("body", "must be an object {expression, input, bindings}"));
    auto it = body->find("expression");
    if (it == body->end() || !it->is_string()) {
      return ErrorResponse(FieldProblem("expression", "is required and must be a string"));
    }
    std::map<std::string, Json> bindings;
    if (auto b = body->find("bindings"); b != body->end() && !b->is_null()) {
      if (!b->is_object()) return ErrorResponse(FieldProblem("bindings", "must be an object"));
      for (auto& [name, value] : b->items()) bindings[name.starts_with("$") ? name.substr(1) : name] = value;
    }
    Json input;
    if (auto in = body->find("input"); in != body->end()) input = *in;
    auto compiled = expr::Expression::Compile(it->get<std::string>());
    if (compiled.error) return ExpressionError(*compiled.error);
    auto result = compiled.expression->Evaluate(input, bindings);
    if (result.error) return ExpressionError(*result.error);
    Json out = Json::object();
    if (result.value) out["result"] = *result.value;
    return HttpResponse::FromJson(200, out);
  });

  HttpHandler hooks = s.hooks;
  if (!hooks) {
    hooks = [](HttpRequest&) { return ErrorResponse(ErrorCode::kNotFound, "no webhook at this URL"); };
  }
  t.emplace_back("receiveWebhook", hooks);
  t.emplace_back("receiveWebhookPath", hooks);
}

}  // namespace weft::server
