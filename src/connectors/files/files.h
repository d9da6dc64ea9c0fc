// The file utilities (connector `file`): file.from_text, file.from_base64,
// file.read_text and file.to_base64, between file values (core/files.h) and
// text in the run. Reading a file whole is capped, with a clear error past
// the cap. Only app/ calls RegisterFileUtilities. Thread-safe.
#pragma once

#include "core/action.h"

namespace weft::connectors {

void RegisterFileUtilities(ActionCatalog& catalog);

}  // namespace weft::connectors
