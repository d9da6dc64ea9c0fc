// File values in http.request (core/files.h): a response body streamed into
// the file store (response_type: file, or auto for a body that is neither
// text nor JSON), and a request body or multipart part streamed from a file.
// Used by one transfer at a time.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/common/curl.h"
#include "core/files.h"

namespace weft::connectors::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// True for a media type a person reads as text: text/*, JSON, XML, forms,
// JavaScript, YAML, CSV (auto keeps those in the run's JSON).
bool TextLike(const std::string& content_type);

// The name of a downloaded file: Content-Disposition's filename, else the
// URL path's last segment, else "download".
std::string DownloadName(const Headers& headers, const std::string& url);

// The response body of one exchange: into a new file when the answer is a
// success and `files` is set and (forced or not TextLike), else into memory
// (up to 256 MiB, as before). Decided at the first byte, when the status and
// headers are known.
class BodyReceiver {
 public:
  BodyReceiver(FileStore* files, bool forced, std::string url, std::string* memory,
               const Headers* headers)
      : files_(files), forced_(forced), url_(std::move(url)), memory_(memory), headers_(headers) {}
  // Installs the write callback on `h`.
  void Attach(CURL* h);
  // After a successful exchange: the file, committed, when the body went to one
  // (a forced empty body makes an empty file). Nullopt when it went to memory.
  Result<std::optional<FileInfo>> Finish(long status);
  // The file store's error that ended the transfer, if one did.
  const std::optional<Error>& error() const { return error_; }

 private:
  static size_t Write(char* data, size_t size, size_t n, void* self);
  bool Decide();

  FileStore* files_;
  bool forced_;
  std::string url_;
  std::string* memory_;
  const Headers* headers_;
  CURL* h_ = nullptr;
  bool decided_ = false;
  std::unique_ptr<FileSink> sink_;
  std::optional<Error> error_;
  bool too_large_ = false;
};

// Looks a request body or part up: `v` is a file value, or {file: <value>,
// filename?, content_type?}. Nullopt when `v` is neither; an error naming
// `what` when its file is not in the store.
Result<std::optional<FileInfo>> FileInput(FileStore* files, const Json& v, const std::string& what);

}  // namespace weft::connectors::http
