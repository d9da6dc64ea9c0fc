// Percent-encoding for URLs (RFC 3986): shared by the OAuth2 start URL in
// core and the HTTP, S3 and form encoders in connectors.
#pragma once

#include <string>

namespace weft {

// Percent-encodes every byte but the unreserved ones (A-Z a-z 0-9 - _ . ~),
// for a query value, a form body or one path segment.
std::string UrlEncode(const std::string& s);

}  // namespace weft
