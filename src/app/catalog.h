// Every connector and utility weft ships, registered into one catalog: the
// one place that names them all (serve, validate).
#pragma once

#include "core/action.h"

namespace weft::app {

void RegisterAllConnectors(ActionCatalog& catalog);

}  // namespace weft::app
