// The route table as data: read by the router, the OpenAPI test and access control.
#include "server/api/api.h"

namespace weft::server {

const std::vector<RouteSpec>& ApiRouteSpecs() {
  static const std::vector<RouteSpec> kSpecs = {
      {"GET", "/healthz", "healthz"},
      {"GET", "/api/v1/openapi.json", "getOpenApi"},
      {"GET", "/api/v1/flows", "listFlows"},
      {"POST", "/api/v1/flows", "createFlow"},
      {"POST", "/api/v1/flows/import", "importFlow"},
      {"GET", "/api/v1/flows/{id}", "getFlow"},
      {"PUT", "/api/v1/flows/{id}", "saveFlow"},
      {"DELETE", "/api/v1/flows/{id}", "deleteFlow"},
      {"POST", "/api/v1/flows/{id}/activate", "activateFlow"},
      {"POST", "/api/v1/flows/{id}/deactivate", "deactivateFlow"},
      {"POST", "/api/v1/flows/{id}/clone", "cloneFlow"},
      {"GET", "/api/v1/flows/{id}/export", "exportFlow"},
      {"GET", "/api/v1/flows/{id}/versions", "listFlowVersions"},
      {"GET", "/api/v1/flows/{id}/versions/{version}", "getFlowVersion"},
      {"POST", "/api/v1/flows/{id}/runs", "startRun"},
      {"POST", "/api/v1/flows/{id}/webhook/rotate", "rotateWebhook"},
      {"GET", "/api/v1/runs", "listRuns"},
      {"GET", "/api/v1/runs/{id}", "getRun"},
      {"GET", "/api/v1/runs/{id}/events", "streamRunEvents"},
      {"POST", "/api/v1/runs/{id}/cancel", "cancelRun"},
      {"POST", "/api/v1/runs/{id}/retry", "retryRun"},
      {"GET", "/api/v1/connectors", "listConnectors"},
      {"GET", "/api/v1/connections", "listConnections"},
      {"POST", "/api/v1/connections", "createConnection"},
      {"GET", "/api/v1/connections/{id}", "getConnection"},
      {"PUT", "/api/v1/connections/{id}", "saveConnection"},
      {"DELETE", "/api/v1/connections/{id}", "deleteConnection"},
      {"POST", "/api/v1/connections/{id}/test", "testConnection"},
      {"GET", "/api/v1/connections/{id}/oauth/start", "startConnectionOAuth"},
      // The provider's redirect back; authorized by the sealed state and the cookie set at start.
      {"GET", "/api/v1/oauth/callback", "oauthCallback"},
      {"POST", "/api/v1/expressions/evaluate", "evaluateExpression"},
      {"POST", "/api/v1/schedules/preview", "previewSchedule"},
      {"GET", "/api/v1/deliveries", "listDeliveries"},
      {"GET", "/api/v1/deliveries/{id}", "getDelivery"},
      {"ANY", "/hooks/{token}", "receiveWebhook"},
      {"ANY", "/hooks/{token}/{rest...}", "receiveWebhookPath"},
  };
  return kSpecs;
}

}  // namespace weft::server
