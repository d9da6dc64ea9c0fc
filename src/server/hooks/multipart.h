// multipart/form-data bodies (RFC 7578) as webhook senders post them: the
// parts with their names, filenames and types, as views into the body.
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::server::hooks {

struct MultipartPart {
  std::string name;
  std::optional<std::string> filename;  // set for a file part (even when empty)
  std::string content_type;             // "" when the part says none
  std::string_view data;
};

// The boundary of a multipart Content-Type, or "" when it names none.
std::string MultipartBoundary(std::string_view content_type);
// The parts of `body`; nullopt when it is not well-formed multipart with
// `boundary` (no closing delimiter, a part without headers' end).
std::optional<std::vector<MultipartPart>> ParseMultipart(std::string_view body,
                                                         std::string_view boundary);

}  // namespace weft::server::hooks
