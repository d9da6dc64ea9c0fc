#include "server/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/router.h"

namespace weft::server {
namespace {

namespace fs = std::filesystem;

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

const char kNotBuilt[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>weft</title></head><body>"
    "<h1>weft</h1><p>The web UI is not built. Run <code>make</code> (it builds "
    "<code>ui/dist</code>), "
    "or start weft with <code>--ui-dir</code> pointing at a built UI.</p>"
    "<p>The API is at <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p></body></html>";

}  // namespace

std::string ContentTypeFor(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".gif") return "image/gif";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".webp") return "image/webp";
  if (ext == ".woff") return "font/woff";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".ttf") return "font/ttf";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}

HttpResponse StaticFiles::Serve(const HttpRequest& req) const {
  fs::path root(dir_);
  std::error_code ec;
  fs::path index = root / "index.html";
  if (dir_.empty() || !fs::is_regular_file(index, ec)) {
    return HttpResponse::Text(200, kNotBuilt, "text/html; charset=utf-8");
  }
  // Only plain segments: no "..", no hidden files, so nothing outside `dir_` is reachable.
  fs::path file = root;
  bool plain = true;
  for (auto seg : SplitPath(req.path)) {
    if (seg.empty() || seg.front() == '.' || seg.find('\\') != std::string_view::npos ||
        seg.find('\0') != std::string_view::npos) {
      plain = false;
      break;
    }
    file /= std::string(seg);
  }
  HttpResponse r;
  if (plain && file != root && fs::is_regular_file(file, ec) && ReadFile(file, &r.body)) {
    r.content_type = ContentTypeFor(file.string());
    bool hashed_asset = req.path.starts_with("/assets/");
    r.headers.emplace_back("Cache-Control",
                           hashed_asset ? "public, max-age=31536000, immutable" : "no-cache");
    return r;
  }
  // A path with an extension that is not there is a missing file, not a page.
  std::string last = fs::path(req.path).filename().string();
  if (last.find('.') != std::string::npos) {
    return HttpResponse::Text(404, "not found\n");
  }
  if (!ReadFile(index, &r.body)) return HttpResponse::Text(500, "cannot read index.html\n");
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace weft::server
