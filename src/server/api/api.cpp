#include "server/api/api.h"

#include <cassert>

namespace weft::server {

void AddApiRoutes(Router& router, ApiServices& services) {
  HandlerTable table;
  AddFlowHandlers(table, services);
  AddRunHandlers(table, services);
  AddMiscHandlers(table, services);
  AddConnectionHandlers(table, services);
  AddAuthHandlers(table, services);
  for (const auto& spec : ApiRouteSpecs()) {
    HttpHandler handler;
    for (auto& [op, h] : table) {
      if (op == spec.operation) handler = h;
    }
    assert(handler && "a route spec without a handler");
    router.Add(spec.method, spec.path, spec.operation, std::move(handler), spec.access);
  }
  assert(table.size() == ApiRouteSpecs().size() && "a handler without a route spec");
}

}  // namespace weft::server
