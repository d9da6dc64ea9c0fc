// Handlers of /api/v1/files/{id}: a file value's bytes (streamed, with
// ranges) and its value.
#include <algorithm>
#include <memory>

#include "core/files.h"
#include "server/api/api.h"
#include "server/errors.h"

namespace weft::server {
namespace {

constexpr size_t kChunk = 256 * 1024;

// A single byte range of a file of `size` bytes ("bytes=a-b", "bytes=a-",
// "bytes=-n"): [first, last], or nullopt when unsatisfiable or not one range.
std::optional<std::pair<uint64_t, uint64_t>> ParseRange(const std::string& header, uint64_t size) {
  if (!header.starts_with("bytes=") || header.find(',') != std::string::npos || size == 0)
    return std::nullopt;
  std::string spec = header.substr(6);
  auto dash = spec.find('-');
  if (dash == std::string::npos) return std::nullopt;
  std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto number = [](const std::string& s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), ::isdigit))
      return std::nullopt;
    return std::stoull(s);
  };
  if (a.empty()) {  // the last n bytes
    auto n = number(b);
    if (!n || *n == 0) return std::nullopt;
    return std::make_pair(size - std::min(*n, size), size - 1);
  }
  auto first = number(a);
  if (!first || *first >= size) return std::nullopt;
  uint64_t last = size - 1;
  if (!b.empty()) {
    auto l = number(b);
    if (!l || *l < *first) return std::nullopt;
    last = std::min(*l, size - 1);
  }
  return std::make_pair(*first, last);
}

// Content-Disposition with a plain fallback name and the UTF-8 one (RFC 6266).
std::string Disposition(const std::string& name, bool inline_view) {
  std::string plain, encoded;
  for (unsigned char c : name) {
    plain.push_back(c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '_' : static_cast<char>(c));
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  return std::string(inline_view ? "inline" : "attachment") + "; filename=\"" + plain +
         "\"; filename*=UTF-8''" + encoded;
}

// Types a browser may show in place without running anything of the file's.
bool SafeInline(const std::string& type) {
  return (type.starts_with("image/") && type.find("svg") == std::string::npos) ||
         type == "text/plain" || type == "text/csv" || type == "application/pdf" ||
         type.starts_with("video/") || type.starts_with("audio/");
}

}  // namespace

void AddFileHandlers(HandlerTable& table, ApiServices& s) {
  table.emplace_back("getFile", [&s](HttpRequest& req) -> HttpResponse {
    if (!s.files) return ErrorResponse(ErrorCode::kNotFound, "files are off on this server");
    auto info = s.files->Stat(req.Param("id"));
    if (!info) return ErrorResponse(info.error());
    const std::string etag = "\"" + info->sha256 + "\"";
    HttpResponse res;
    res.headers.emplace_back("ETag", etag);
    res.headers.emplace_back("Accept-Ranges", "bytes");
    res.headers.emplace_back("Cache-Control", "private, max-age=31536000, immutable");
    // The bytes are the user's, not ours: never run them as part of the UI.
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Content-Security-Policy", "sandbox; default-src 'none'");
    if (const std::string* inm = req.Header("if-none-match"); inm && *inm == etag) {
      res.status = 304;
      return res;
    }
    const bool inline_view =
        req.Query("inline").value_or("") == "1" && SafeInline(info->content_type);
    res.headers.emplace_back("Content-Disposition", Disposition(info->name, inline_view));
    res.content_type = info->content_type;
    uint64_t first = 0, last = info->size == 0 ? 0 : info->size - 1;
    uint64_t length = info->size;
    if (const std::string* range = req.Header("range")) {
      const std::string* if_range = req.Header("if-range");
      if (!if_range || *if_range == etag) {
        auto r = ParseRange(*range, info->size);
        if (!r) {
          HttpResponse bad = ErrorResponse(ErrorCode::kBadRequest,
                                           "the range " + *range + " is not within the file's " +
                                               std::to_string(info->size) + " bytes");
          bad.status = 416;
          bad.headers.emplace_back("Content-Range", "bytes */" + std::to_string(info->size));
          return bad;
        }
        first = r->first;
        last = r->second;
        length = last - first + 1;
        res.status = 206;
        res.headers.emplace_back("Content-Range", "bytes " + std::to_string(first) + "-" +
                                                      std::to_string(last) + "/" +
                                                      std::to_string(info->size));
      }
    }
    auto src = s.files->Open(info->id, first);
    if (!src) return ErrorResponse(src.error());
    res.content_length = length;
    if (length == 0) {
      res.stream = [](std::string&, bool) { return false; };
      return res;
    }
    auto source = std::shared_ptr<FileSource>(std::move(*src));
    auto left = std::make_shared<uint64_t>(length);
    res.stream = [source, left](std::string& out, bool stopping) {
      if (stopping || *left == 0) return false;
      size_t want = static_cast<size_t>(std::min<uint64_t>(*left, kChunk));
      out.resize(want);
      auto n = source->Read(out.data(), want);
      if (!n || *n == 0) {  // gone or shorter than its value says: the response is cut
        out.clear();
        return false;
      }
      out.resize(*n);
      *left -= *n;
      return *left > 0;
    };
    return res;
  });
  table.emplace_back("getFileMeta", [&s](HttpRequest& req) -> HttpResponse {
    if (!s.files) return ErrorResponse(ErrorCode::kNotFound, "files are off on this server");
    auto info = s.files->Stat(req.Param("id"));
    if (!info) return ErrorResponse(info.error());
    return HttpResponse::FromJson(200, info->ToJson());
  });
}

}  // namespace weft::server
