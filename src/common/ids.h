// Identifiers and secrets: sortable object ids and random base62 tokens.
// Thread-safe: randomness comes from the kernel (getrandom).
#pragma once

#include <cstdint>
#include <string>

namespace weft {

// Fills `n` bytes with cryptographically secure random bytes.
void RandomBytes(void* out, size_t n);

// A new object id: 20 characters [0-9a-z], time-ordered (48-bit milliseconds,
// then 64 random bits), so ids sort by creation time and serve as list cursors.
std::string NewId(int64_t unix_ms);

// A base62 token carrying at least `bits` random bits (webhook URLs: 128+).
std::string RandomToken(int bits = 160);

// At most the first 4 characters of a secret, for logs and errors: "aB3x…".
std::string RedactToken(const std::string& token);

}  // namespace weft
