// The secrets a flow document carries (trigger.webhook.auth `secret`, `value`,
// `password`, docs/webhooks.md "Auth") sealed at rest with the SecretBox, like
// connection secrets: FlowService seals them before the store sees the
// document, the webhook receiver opens them when it loads a flow. Pure
// functions over a Json; thread-safe.
#pragma once

#include "common/json.h"
#include "common/result.h"
#include "core/secrets.h"

namespace weft {

// Seals every plain secret of trigger.webhook.auth in `document`. A secret
// whose value equals the one `stored` (the latest stored, sealed document, or
// null) holds keeps that sealed string, so an identical save stays identical
// (no new version). Sealed values are left as they are.
void SealFlowSecrets(Json& document, const SecretBox& box, const Json* stored);

// The reverse: every sealed secret of trigger.webhook.auth opened. Plain
// values (flows saved before secrets were sealed) pass through. kInternal when
// a value was sealed under another key or is damaged.
Result<void> OpenFlowSecrets(Json& document, const SecretBox& box);

}  // namespace weft
