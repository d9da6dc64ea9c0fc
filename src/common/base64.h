// Base64 (RFC 4648, standard alphabet with padding) over libsodium. Pure;
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace weft {

std::string Base64Encode(std::string_view bytes);
// Nullopt when `text` is not base64 (whitespace is ignored).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace weft
