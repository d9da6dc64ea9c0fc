// The `http` connector: `http.request` against any HTTP API, with the
// connection's base URL, default headers and auth (none, basic, bearer,
// API key, OAuth2 client credentials, OAuth2 authorization code with a
// refresh token). Only app/ calls RegisterHttp. Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "core/action.h"

namespace weft::connectors {

void RegisterHttp(ActionCatalog& catalog);

// Called when a provider answers a refresh with a new refresh token (it
// rotates them, and the old one stops working), with the connection's id and
// the token response's access token, refresh token and expiry: app/ stores
// them in the connection, so a restart refreshes with the new one. Without a
// sink (tests) the new token is kept in memory only. Set once at start-up.
struct RotatedTokens {
  std::string connection_id;
  std::string access_token;
  std::string refresh_token;
  std::optional<TimePoint> expires_at;
};
void SetRotatedTokenSink(std::function<void(const RotatedTokens&)> sink);

// The spec RegisterHttp registers (for tests and docs).
ConnectorSpec HttpConnectorSpec();

}  // namespace weft::connectors
