// The `postgres` connector: `postgres.query` and `postgres.execute` with
// bound parameters ($1, $2, ...) through libpq. Only app/ calls
// RegisterPostgres. Thread-safe (a database connection per call).
#pragma once

#include "core/action.h"

namespace weft::connectors {

void RegisterPostgres(ActionCatalog& catalog);

}  // namespace weft::connectors
