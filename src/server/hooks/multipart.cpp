#include "server/hooks/multipart.h"

#include <algorithm>
#include <cctype>

namespace weft::server::hooks {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The value of parameter `key` in a header value ("form-data; name=\"a\""):
// quoted (with \" escapes) or a token; nullopt when absent.
std::optional<std::string> Param(std::string_view header, std::string_view key) {
  size_t i = 0;
  while (i < header.size()) {
    size_t semi = header.find(';', i);
    if (semi == std::string_view::npos) return std::nullopt;
    i = semi + 1;
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
    size_t eq = header.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string name = Lower(Trim(header.substr(i, eq - i)));
    size_t v = eq + 1;
    std::string value;
    if (v < header.size() && header[v] == '"') {
      ++v;
      while (v < header.size() && header[v] != '"') {
        if (header[v] == '\\' && v + 1 < header.size()) ++v;
        value.push_back(header[v++]);
      }
      i = v + 1;
    } else {
      size_t end = header.find(';', v);
      value = std::string(Trim(header.substr(v, end == std::string_view::npos ? end : end - v)));
      i = end == std::string_view::npos ? header.size() : end;
    }
    if (name == key) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string MultipartBoundary(std::string_view content_type) {
  auto b = Param(content_type, "boundary");
  if (!b || b->empty() || b->size() > 200) return "";
  return *b;
}

std::optional<std::vector<MultipartPart>> ParseMultipart(std::string_view body,
                                                         std::string_view boundary) {
  if (boundary.empty()) return std::nullopt;
  const std::string delim = "--" + std::string(boundary);
  std::vector<MultipartPart> parts;
  // The first delimiter may be preceded by a preamble.
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) return std::nullopt;
  pos += delim.size();
  for (;;) {
    if (body.substr(pos, 2) == "--") return parts;  // the close delimiter
    // The rest of the delimiter line (transport padding), then CRLF.
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    pos = eol + 2;
    size_t headers_end = body.find("\r\n\r\n", pos);
    size_t next = body.find("\r\n" + delim, pos);
    if (next == std::string_view::npos) return std::nullopt;
    MultipartPart part;
    size_t data_start;
    if (body.substr(pos, 2) == "\r\n") {  // no headers at all
      data_start = pos + 2;
    } else {
      if (headers_end == std::string_view::npos || headers_end > next) return std::nullopt;
      std::string_view headers = body.substr(pos, headers_end - pos);
      size_t h = 0;
      while (h <= headers.size()) {
        size_t line_end = headers.find("\r\n", h);
        std::string_view line = headers.substr(
            h, line_end == std::string_view::npos ? std::string_view::npos : line_end - h);
        size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
          std::string name = Lower(Trim(line.substr(0, colon)));
          std::string_view value = Trim(line.substr(colon + 1));
          if (name == "content-disposition") {
            part.name = Param(value, "name").value_or("");
            part.filename = Param(value, "filename");
          } else if (name == "content-type") {
            part.content_type = std::string(value);
          }
        }
        if (line_end == std::string_view::npos) break;
        h = line_end + 2;
      }
      data_start = headers_end + 4;
    }
    part.data =
        data_start <= next ? body.substr(data_start, next - data_start) : std::string_view();
    parts.push_back(std::move(part));
    pos = next + 2 + delim.size();
  }
}

}  // namespace weft::server::hooks
