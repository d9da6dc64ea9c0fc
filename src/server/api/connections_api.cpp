// Handlers of /api/v1/connections...: translate HTTP to ConnectionService.
// Secrets leave only as "********" (ConnectionToJson masks them).
#include "core/api_json.h"
#include "core/connection_service.h"
#include "server/api/api.h"
#include "server/api/body.h"
#include "server/errors.h"

namespace weft::server {
namespace {

// Who acts: empty while access control is off (the auth issue fills it).
std::string Actor(const HttpRequest&) { return ""; }

HttpResponse NotConfigured() {
  return ErrorResponse(Error(ErrorCode::kUnavailable, "connections are not available in this server"));
}

}  // namespace

void AddConnectionHandlers(HandlerTable& t, ApiServices& s) {
  ConnectionService* service = s.connections;
  const ActionCatalog& catalog = s.catalog;

  t.emplace_back("listConnections", [service, &catalog](HttpRequest&) {
    if (!service) return NotConfigured();
    auto list = service->List();
    if (!list) return ErrorResponse(list.error());
    Json out = Json::array();
    for (const auto& c : *list) out.push_back(ConnectionToJson(c, catalog));
    return HttpResponse::FromJson(200, Json{{"connections", std::move(out)}});
  });

  t.emplace_back("createConnection", [service, &catalog](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto body = ParseJsonBody(req, true);
    if (!body) return ErrorResponse(body.error());
    auto c = service->Create(*body, Actor(req));
    if (!c) return ErrorResponse(c.error());
    return HttpResponse::FromJson(201, ConnectionToJson(*c, catalog));
  });

  t.emplace_back("getConnection", [service, &catalog](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto c = service->Get(req.Param("id"));
    if (!c) return ErrorResponse(c.error());
    return HttpResponse::FromJson(200, ConnectionToJson(*c, catalog));
  });

  t.emplace_back("saveConnection", [service, &catalog](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto body = ParseJsonBody(req, true);
    if (!body) return ErrorResponse(body.error());
    auto c = service->Update(req.Param("id"), *body, Actor(req));
    if (!c) return ErrorResponse(c.error());
    return HttpResponse::FromJson(200, ConnectionToJson(*c, catalog));
  });

  t.emplace_back("deleteConnection", [service](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto done = service->Delete(req.Param("id"));
    if (!done) return ErrorResponse(done.error());
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    return r;
  });

  t.emplace_back("testConnection", [service](HttpRequest& req) {
    if (!service) return NotConfigured();
    auto report = service->Test(req.Param("id"));
    if (!report) return ErrorResponse(report.error());
    return HttpResponse::FromJson(
        200, Json{{"ok", report->ok}, {"message", report->message}, {"duration_ms", report->duration_ms}});
  });
}

}  // namespace weft::server
