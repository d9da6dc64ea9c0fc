// The `ftp` connector: list, get, put, delete and move files on an FTP or
// FTPS server. Only app/ calls RegisterFtp. Thread-safe.
#pragma once

#include "core/action.h"

namespace weft::connectors {

void RegisterFtp(ActionCatalog& catalog);

}  // namespace weft::connectors
