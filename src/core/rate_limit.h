// Rate limits per connection (docs/connector-manifests.md#rate-limits): a
// manifest's `rate_limit` is the default of its connections, a connection's
// `settings.rate_limit` overrides it (any connector, the plain http one too).
// The engine spaces the requests of every step using the connection, across
// runs, workers and nodes, through the store's per-connection GCRA
// (Store::TakeRateSlot).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"

namespace weft {

struct RateLimit {
  int64_t requests = 1;  // this many requests ...
  Millis per{1000};      // ... per this long, on average
  int64_t burst = 1;     // at most this many at once (after a quiet spell)

  // The time one request takes from the allowance: per / requests in whole
  // milliseconds, rounded up (never faster than the limit), at least 1 ms.
  Millis Interval() const;
  bool operator==(const RateLimit&) const = default;
};

// Reads `{requests, per, burst}`. Null or absent is "no limit" (nullopt).
// Each problem is added to `problems` under `path` ("settings.rate_limit.per").
std::optional<RateLimit> ParseRateLimit(const Json& v, const std::string& path,
                                        std::vector<FieldError>& problems);

// The limit that applies to a connection: its settings.rate_limit, else the
// connector's default (`connector_default`, the manifest's; null when none).
// A setting that does not parse (stored before validation) is ignored.
std::optional<RateLimit> EffectiveRateLimit(const Json& settings, const Json& connector_default);

// The longest pause a Retry-After may impose on a connection.
inline constexpr Millis kMaxConnectionPause{3'600'000};

}  // namespace weft
