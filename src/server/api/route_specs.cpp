// The route table as data: read by the router, the OpenAPI test and access
// control. Each route names the least role that may call it (Access): GET
// routes that only read are viewer, changes editor, users and tokens admin.
#include "server/api/api.h"

namespace weft::server {

const std::vector<RouteSpec>& ApiRouteSpecs() {
  static const std::vector<RouteSpec> kSpecs = {
      {"GET", "/healthz", "healthz", Access::kPublic},
      {"GET", "/readyz", "readyz", Access::kPublic},
      // Prometheus text; access control decides who may scrape.
      {"GET", "/metrics", "getMetrics", Access::kViewer},
      {"GET", "/api/v1/openapi.json", "getOpenApi", Access::kPublic},
      {"GET", "/api/v1/flows", "listFlows", Access::kViewer},
      {"POST", "/api/v1/flows", "createFlow", Access::kEditor},
      {"POST", "/api/v1/flows/import", "importFlow", Access::kEditor},
      {"GET", "/api/v1/flows/{id}", "getFlow", Access::kViewer},
      {"PUT", "/api/v1/flows/{id}", "saveFlow", Access::kEditor},
      {"DELETE", "/api/v1/flows/{id}", "deleteFlow", Access::kEditor},
      {"POST", "/api/v1/flows/{id}/activate", "activateFlow", Access::kEditor},
      {"POST", "/api/v1/flows/{id}/deactivate", "deactivateFlow", Access::kEditor},
      {"POST", "/api/v1/flows/{id}/clone", "cloneFlow", Access::kEditor},
      {"GET", "/api/v1/flows/{id}/export", "exportFlow", Access::kViewer},
      {"GET", "/api/v1/flows/{id}/versions", "listFlowVersions", Access::kViewer},
      {"GET", "/api/v1/flows/{id}/versions/{version}", "getFlowVersion", Access::kViewer},
      {"POST", "/api/v1/flows/{id}/runs", "startRun", Access::kEditor},
      {"POST", "/api/v1/flows/{id}/webhook/rotate", "rotateWebhook", Access::kEditor},
      {"POST", "/api/v1/flows/{id}/poll/check", "checkPoll", Access::kEditor},
      {"POST", "/api/v1/flows/{id}/steps/{step_id}/test", "testStep", Access::kEditor},
      {"GET", "/api/v1/runs", "listRuns", Access::kViewer},
      {"GET", "/api/v1/runs/{id}", "getRun", Access::kViewer},
      {"GET", "/api/v1/files/{id}", "getFile", Access::kViewer},
      {"GET", "/api/v1/files/{id}/meta", "getFileMeta", Access::kViewer},
      {"GET", "/api/v1/runs/{id}/events", "streamRunEvents", Access::kViewer},
      {"POST", "/api/v1/runs/{id}/cancel", "cancelRun", Access::kEditor},
      {"POST", "/api/v1/runs/{id}/retry", "retryRun", Access::kEditor},
      {"POST", "/api/v1/runs/retry", "retryRuns", Access::kEditor},
      {"GET", "/api/v1/connectors", "listConnectors", Access::kViewer},
      {"POST", "/api/v1/connectors", "createConnector", Access::kAdmin},
      {"POST", "/api/v1/connectors/import-openapi", "importOpenApi", Access::kAdmin},
      {"GET", "/api/v1/connections", "listConnections", Access::kViewer},
      {"POST", "/api/v1/connections", "createConnection", Access::kEditor},
      {"GET", "/api/v1/connections/{id}", "getConnection", Access::kViewer},
      {"PUT", "/api/v1/connections/{id}", "saveConnection", Access::kEditor},
      {"DELETE", "/api/v1/connections/{id}", "deleteConnection", Access::kEditor},
      {"POST", "/api/v1/connections/{id}/test", "testConnection", Access::kEditor},
      {"GET", "/api/v1/connections/{id}/oauth/start", "startConnectionOAuth", Access::kEditor},
      // The provider's redirect back; authorized by the sealed state and the cookie set at start.
      {"GET", "/api/v1/oauth/callback", "oauthCallback", Access::kOwnAuth},
      {"POST", "/api/v1/expressions/evaluate", "evaluateExpression", Access::kEditor},
      {"POST", "/api/v1/schedules/preview", "previewSchedule", Access::kEditor},
      {"GET", "/api/v1/deliveries", "listDeliveries", Access::kViewer},
      {"GET", "/api/v1/deliveries/{id}", "getDelivery", Access::kViewer},
      {"POST", "/api/v1/deliveries/{id}/replay", "replayDelivery", Access::kEditor},
      // Access control.
      {"POST", "/api/v1/auth/login", "login", Access::kPublic},
      {"POST", "/api/v1/auth/logout", "logout", Access::kViewer},
      {"GET", "/api/v1/me", "getMe", Access::kViewer},
      {"GET", "/api/v1/users", "listUsers", Access::kAdmin},
      {"POST", "/api/v1/users", "createUser", Access::kAdmin},
      {"DELETE", "/api/v1/users/{id}", "deleteUser", Access::kAdmin},
      {"GET", "/api/v1/tokens", "listTokens", Access::kAdmin},
      {"POST", "/api/v1/tokens", "createToken", Access::kAdmin},
      {"DELETE", "/api/v1/tokens/{id}", "revokeToken", Access::kAdmin},
      {"ANY", "/hooks/{token}", "receiveWebhook", Access::kOwnAuth},
      {"ANY", "/hooks/{token}/{rest...}", "receiveWebhookPath", Access::kOwnAuth},
  };
  return kSpecs;
}

}  // namespace weft::server
