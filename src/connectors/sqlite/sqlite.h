// The `sqlite` connector: `sqlite.query` and `sqlite.execute` on a SQLite
// database file named by the connection, with bound parameters only. Only
// app/ calls RegisterSqlite. Thread-safe (a database handle per call).
#pragma once

#include "core/action.h"

namespace weft::connectors {

void RegisterSqlite(ActionCatalog& catalog);

}  // namespace weft::connectors
