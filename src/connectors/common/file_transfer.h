// The file actions shared by the `ftp` and `sftp` connectors (list, get,
// put, delete, move), over libcurl's FTP/FTPS and SFTP. Each connector folder
// registers them with its own spec. Thread-safe.
#pragma once

#include <string>

#include "core/action.h"

namespace weft::connectors {

enum class FileProtocol { kFtp, kSftp };

// Registers the five actions and the tester under `spec` (whose fields and
// auth types the connector folder declares).
void RegisterFileTransfer(ActionCatalog& catalog, ConnectorSpec spec, FileProtocol protocol);

// The action specs the two connectors share.
std::vector<ActionSpec> FileTransferActions(const std::string& path_help);

// Parses one line of an `ls -l` style listing into {name, type, size, modified};
// null when the line is not one.
Json ParseListLine(const std::string& line);

// A glob over a file name (`*`, `?`, `[a-z]`, `[!a]`), in pattern x name
// steps at most (the new_files and s3.new_objects `pattern`).
bool MatchGlob(const std::string& pattern, const std::string& name);

}  // namespace weft::connectors
