// The `smtp` connector: `smtp.send` through any SMTP server (STARTTLS,
// implicit TLS or plain; AUTH LOGIN/PLAIN), text and HTML bodies and
// attachments given as base64. Only app/ calls RegisterSmtp. Thread-safe.
#pragma once

#include "core/action.h"

namespace weft::connectors {

void RegisterSmtp(ActionCatalog& catalog);

}  // namespace weft::connectors
