// The built-in utilities that need no connection: data.set, log.write,
// flow.if, flow.foreach, flow.delay, flow.fail, data.transform, webhook.respond.
#pragma once

#include "core/action.h"

namespace weft::connectors {

void RegisterUtilities(ActionCatalog& catalog);

}  // namespace weft::connectors
