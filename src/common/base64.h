// Base64 (RFC 4648) over libsodium: the one place weft encodes and decodes
// it. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace weft {

enum class Base64Alphabet {
  kStandard,  // `+` and `/`, padded with `=` (MIME, HTTP Basic, most APIs)
  kUrlSafe,   // `-` and `_`, no padding (JWTs, URLs, OAuth2 state)
};

std::string Base64Encode(std::string_view bytes,
                         Base64Alphabet alphabet = Base64Alphabet::kStandard);
// Nullopt when `text` is not base64 of that alphabet (whitespace is ignored;
// kUrlSafe also accepts trailing `=`).
std::optional<std::string> Base64Decode(std::string_view text,
                                        Base64Alphabet alphabet = Base64Alphabet::kStandard);
// Either alphabet, padded or not, as senders of signatures write it (webhook
// signatures, keys pasted by users). Nullopt when it is neither.
std::optional<std::string> Base64DecodeAny(std::string_view text);

}  // namespace weft
