// ISO-8601 instants, weft durations ("1.5s", "2h") and sizes ("64MiB"), as
// they appear in documents, flags and the API. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace weft {

// "2026-11-28T18:10:14.123Z" (milliseconds shown only when non-zero).
std::string FormatIso(TimePoint t);

// Parses an ISO-8601 instant with "Z" or a "+hh:mm" offset; nullopt if malformed.
std::optional<TimePoint> ParseIso(std::string_view s);

// Parses a duration: a decimal number and a unit ms, s, m, h or d ("10ms",
// "1.5s", "2h"). nullopt if malformed or negative.
std::optional<Millis> ParseDuration(std::string_view s);

// The shortest exact form: 90000ms -> "1.5m", 2000 -> "2s".
std::string FormatDuration(Millis d);

// Parses a size in bytes: a whole number, optionally followed by B, KiB, MiB
// or GiB (KB, MB, GB and K, M, G are read as the same powers of 1024), case
// insensitive ("64MiB", "512kib", "1000000"). nullopt if malformed, zero, or
// beyond 1 TiB.
std::optional<uint64_t> ParseByteSize(std::string_view s);

}  // namespace weft
