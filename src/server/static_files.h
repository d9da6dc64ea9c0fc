// The web UI's built files (ui/dist) served at /, with the single-page-app
// fallback to index.html. Reads from disk on each request (the files are few
// and the page cache keeps them). Thread-safe.
#pragma once

#include <string>

#include "server/http.h"

namespace weft::server {

class StaticFiles {
 public:
  // `dir` may not exist: then every page says the UI is not built.
  explicit StaticFiles(std::string dir) : dir_(std::move(dir)) {}
  // Answers a GET or HEAD for `req.path`.
  HttpResponse Serve(const HttpRequest& req) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// "text/html; charset=utf-8" for "index.html", by extension.
std::string ContentTypeFor(const std::string& path);

}  // namespace weft::server
