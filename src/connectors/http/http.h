// The `http` connector: `http.request` against any HTTP API, with the
// connection's base URL, default headers and auth (none, basic, bearer,
// API key, OAuth2 client credentials, OAuth2 authorization code with a
// refresh token). Only app/ calls RegisterHttp. Thread-safe.
#pragma once

#include "core/action.h"

namespace weft::connectors {

void RegisterHttp(ActionCatalog& catalog);

// The spec RegisterHttp registers (for tests and docs).
ConnectorSpec HttpConnectorSpec();

}  // namespace weft::connectors
