// Per-flow webhook authentication (docs/webhooks.md "Auth"): none, header,
// basic, and hmac with the standard-webhooks, github and custom schemes.
// Checked over the raw body bytes, before anything is parsed, with
// constant-time comparisons. Pure functions: thread-safe.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"
#include "server/http.h"

namespace weft::server::hooks {

// kUnauthorized with a message that names what was wrong (never a secret)
// when `req` does not pass `auth` (the flow's trigger.webhook.auth; null or
// absent means none). `now` judges standard-webhooks timestamps (5 minutes).
Result<void> VerifyWebhookAuth(const Json& auth, const HttpRequest& req, TimePoint now);

// The lower-case name of the header whose value is a secret under `auth`
// (the header scheme's name), or "".
std::string SecretHeaderName(const Json& auth);

// Signing helpers, also used by tests and docs examples.
// HMAC of `parts` one after the other (no copy of them joined); "" for an
// unknown algorithm.
std::string HmacRaw(std::string_view algorithm, std::string_view key,
                    std::initializer_list<std::string_view> parts);
inline std::string HmacRaw(std::string_view algorithm, std::string_view key,
                           std::string_view data) {
  return HmacRaw(algorithm, key, {data});
}
std::string HexEncode(std::string_view bytes);
// The key bytes of a standard-webhooks secret ("whsec_" + base64; other strings are used as they
// are).
std::string StandardWebhooksKey(std::string_view secret);

}  // namespace weft::server::hooks
