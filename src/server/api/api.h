// The HTTP API of docs/api.md: the route table as data (method, path,
// operation) and the handlers bound to it. Handlers only translate between
// HTTP and the core services; every rule lives in core. Thread-safe once built.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/action.h"
#include "core/auth_service.h"
#include "core/connection_service.h"
#include "core/events.h"
#include "core/files.h"
#include "core/flow_service.h"
#include "core/run_service.h"
#include "expr/expr.h"
#include "server/router.h"

namespace weft::server {

// What GET /readyz reports (app/ fills it in; see ApiServices::readiness).
struct Readiness {
  bool store_reachable = false;
  std::string store_error;          // why not, when not
  int schema_version = 0;           // the highest migration the database holds
  bool migrations_applied = false;  // every migration this build knows is applied
  std::string write_problem;        // why the store cannot take writes now ("" when it can)
  std::vector<std::string> roles;   // this node's: api, webhooks, scheduler, workers
  bool scheduler_held = false;      // this node runs the scheduler now
};

// What the handlers work with; owned by app/, outliving the server.
struct ApiServices {
  FlowService& flows;
  RunService& runs;
  const ActionCatalog& catalog;
  ChangeHub& hub;
  Clock& clock;
  // True once the store is open and migrated (GET /healthz).
  std::function<bool()> ready = [] { return true; };
  // ANY /hooks/{token}[/{rest...}]: the webhook receiver (server/hooks/).
  // Null until it exists: every token is then unknown (404).
  HttpHandler hooks;
  // GET /api/v1/deliveries and /api/v1/deliveries/{id} (server/hooks/); null: 503.
  HttpHandler list_deliveries;
  HttpHandler get_delivery;
  // POST /api/v1/deliveries/{id}/replay: a run with a delivery's request as
  // the trigger (server/hooks/); null: 503.
  HttpHandler replay_delivery;
  // POST /api/v1/connectors: checks, stores and registers a connector
  // manifest, answering its catalog entry. Null: 503.
  std::function<Result<Json>(const std::string& text)> install_connector;
  // POST /api/v1/connectors/import-openapi: an OpenAPI document to a manifest
  // ({manifest: YAML text, actions, operations, notes}), nothing stored. Null: 503.
  std::function<Result<Json>(const std::string& spec, const std::vector<std::string>& tags,
                             const std::vector<std::string>& operations, const std::string& name)>
      import_openapi;
  // /connections: null until app/ wires it (those routes then answer 503).
  ConnectionService* connections = nullptr;
  // Access control: users, sessions, tokens. Null: no checks at all
  // (tests that build a server by hand); app/ always sets it.
  AuthService* auth = nullptr;
  // --roles: a node without `api` answers every /api/v1 route with
  // 503, one without `webhooks` every /hooks route; /healthz and /readyz are
  // always served.
  bool api_enabled = true;
  bool webhooks_enabled = true;
  // GET /readyz: asked on every call (it reads the store). Ready means the
  // store answers and its schema is current; 503 otherwise. Null: not ready.
  std::function<Readiness()> readiness;
  // POST /api/v1/expressions/evaluate: the budgets of one evaluation
  // (--expr-timeout, --expr-memory).
  expr::EvalLimits expr_limits;
  // GET /api/v1/files/{id}: where file values' bytes live; null: files are off (404).
  FileStore* files = nullptr;
  // POST /api/v1/flows/{id}/poll/check: what the next poll of a poll flow
  // would pick, a dry run (app/ wires engine's CheckPoll); null: 503.
  std::function<Result<Json>(const Flow& flow)> check_poll;
  // POST /api/v1/flows/{id}/steps/{step_id}/test: runs one step of `doc` alone
  // with `scope` ({trigger, steps, run}) as its context, nothing stored (app/
  // wires engine's RunSingleStep); null: 503.
  std::function<Result<Json>(const FlowDocument& doc, const std::string& step_id,
                             const Json& scope)>
      test_step;
};

struct RouteSpec {
  const char* method;              // GET POST PUT DELETE, or ANY
  const char* path;                // template: {name} one segment, {name...} the rest
  const char* operation;           // operationId in openapi.json
  Access access = Access::kAdmin;  // the least role it needs; also x-weft-access in openapi.json
};

// Every route the server answers, apart from the web UI's static files.
const std::vector<RouteSpec>& ApiRouteSpecs();

// Adds a route for every spec, bound to its handler.
void AddApiRoutes(Router& router, ApiServices& services);

// The OpenAPI 3.1 document served at GET /api/v1/openapi.json (api/openapi.json).
const std::string& OpenApiText();

// ---- used by the handler files ----
using HandlerTable = std::vector<std::pair<std::string, HttpHandler>>;  // operation -> handler
void AddFlowHandlers(HandlerTable& table, ApiServices& s);
void AddRunHandlers(HandlerTable& table, ApiServices& s);
void AddMiscHandlers(HandlerTable& table, ApiServices& s);
void AddConnectionHandlers(HandlerTable& table, ApiServices& s);
void AddAuthHandlers(HandlerTable& table, ApiServices& s);
void AddFileHandlers(HandlerTable& table, ApiServices& s);

}  // namespace weft::server
