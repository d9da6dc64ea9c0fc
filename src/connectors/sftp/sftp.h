// The `sftp` connector: list, get, put, delete and move files over SSH
// (libcurl's SFTP, on libssh2), with a password or a private key. Only app/
// calls RegisterSftp. Thread-safe.
#pragma once

#include "core/action.h"

namespace weft::connectors {

void RegisterSftp(ActionCatalog& catalog);

}  // namespace weft::connectors
