#include "server/api/api.h"

#include <cassert>

#include "server/errors.h"

namespace weft::server {

void AddApiRoutes(Router& router, ApiServices& services) {
  HandlerTable table;
  AddFlowHandlers(table, services);
  AddRunHandlers(table, services);
  AddMiscHandlers(table, services);
  AddConnectionHandlers(table, services);
  AddAuthHandlers(table, services);
  AddFileHandlers(table, services);
  for (const auto& spec : ApiRouteSpecs()) {
    HttpHandler handler;
    for (auto& [op, h] : table) {
      if (op == spec.operation) handler = h;
    }
    assert(handler && "a route spec without a handler");
    std::string op = spec.operation;
    bool is_hook = op.starts_with("receiveWebhook");
    bool always = op == "healthz" || op == "readyz" || op == "getMetrics";
    if (!always && is_hook && !services.webhooks_enabled) {
      handler = [](HttpRequest&) {
        return ErrorResponse(
            ErrorCode::kUnavailable,
            "this node does not receive webhooks (started with --roles without webhooks); "
            "send them to a node that does");
      };
    } else if (!always && !is_hook && !services.api_enabled) {
      handler = [](HttpRequest&) {
        return ErrorResponse(ErrorCode::kUnavailable,
                             "this node does not serve the API (started with --roles without api); "
                             "use a node that does");
      };
    }
    router.Add(spec.method, spec.path, spec.operation, std::move(handler), spec.access);
  }
  assert(table.size() == ApiRouteSpecs().size() && "a handler without a route spec");
}

}  // namespace weft::server
