// A thin layer over libcurl shared by the http, smtp, ftp, sftp and s3
// connectors: RAII handles, one process-wide share of connections, DNS and TLS
// sessions (keep-alive reuse across steps and threads), cancellation and
// deadlines through the progress callback, and one mapping from CURLcode to
// weft errors. Every function is thread-safe; a Transfer is used by one thread.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/url.h"  // UrlEncode, for queries and form bodies
#include "core/action.h"
#include "core/files.h"

namespace weft::connectors {

// When to give up and whether to stop early, for one call.
struct CallEnv {
  Clock& clock;
  TimePoint deadline;
  const std::atomic<bool>& cancelled;
  // ActionContext::before_request, when the action has one.
  const std::function<Result<void>()>* before_request = nullptr;
};
CallEnv EnvOf(const ActionContext& ctx);

// Owns a curl_slist.
class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  ~HeaderList();
  void Add(const std::string& line);
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// One easy handle set up for a call: the shared connection cache (unless
// `reuse` is false), the call's deadline and cancellation, an error buffer.
class Transfer {
 public:
  Transfer(const CallEnv& env, bool reuse = true, std::optional<Millis> timeout = std::nullopt);
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer();

  CURL* handle() const { return curl_; }
  // Captures the response body (up to `max_bytes`) and, when asked, headers.
  void CaptureBody(std::string* body, size_t max_bytes = 256u << 20);
  void CaptureHeaders(std::vector<std::pair<std::string, std::string>>* headers);
  // Sends `data` as the upload (CURLOPT_UPLOAD); the string must outlive Perform.
  void Upload(const std::string* data);
  // Streams the response body into `sink` as it arrives (never whole in
  // memory); a sink error (size limit, full disk) ends the transfer and is
  // what Failure reports. The sink is not committed here.
  void SinkBody(FileSink* sink);
  // Streams the upload (CURLOPT_UPLOAD) from file `id` of `files`, reopened
  // at the offset libcurl asks for when it must send again.
  void UploadFile(FileStore* files, const FileInfo& file);
  // Bigger buffers for a transfer that moves a file (256 KiB each way instead
  // of libcurl's 16 KiB down, 64 KiB up): fewer callbacks and writes, and
  // SFTP keeps more reads in flight (libssh2 pipelines up to the buffer).
  // SinkBody and UploadFile ask for them; other file transfers call this.
  void UseFileBuffers();
  // The file store's error that ended the transfer, if one did.
  const std::optional<Error>& file_error() const { return file_error_; }

  CURLcode Perform();
  // Why Perform failed, in words (curl's message), never holding a secret we know of.
  std::string Message(CURLcode code) const;
  // The weft error for a failed Perform, with `what` naming the operation.
  // Network trouble and timeouts are retryable; cancellation is not.
  ActionOutcome Failure(CURLcode code, const std::string& what) const;
  long Status() const;

 private:
  friend int ProgressCallback(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
  friend size_t WriteCallback(char*, size_t, size_t, void*);
  friend size_t ReadCallback(char*, size_t, size_t, void*);
  friend size_t SinkCallback(char*, size_t, size_t, void*);
  CURL* curl_;
  const CallEnv& env_;
  char error_[CURL_ERROR_SIZE] = {0};
  std::string* body_ = nullptr;
  size_t max_body_ = 0;
  bool body_too_large_ = false;
  bool deadline_hit_ = false;
  const std::string* upload_ = nullptr;
  size_t upload_pos_ = 0;
  FileSink* sink_ = nullptr;
  std::optional<Error> file_error_;
  friend class FileReader;
  std::unique_ptr<class FileReader> file_reader_;
};

// Reads a file for libcurl (an upload, a multipart part): a read and a seek
// callback over FileStore::Open. Used by one transfer at a time.
class FileReader {
 public:
  FileReader(FileStore* files, FileInfo file) : files_(files), file_(std::move(file)) {}
  static size_t Read(char* out, size_t size, size_t n, void* self);
  static int Seek(void* self, curl_off_t offset, int origin);
  const FileInfo& file() const { return file_; }
  const std::optional<Error>& error() const { return error_; }

 private:
  FileStore* files_;
  FileInfo file_;
  std::unique_ptr<FileSource> source_;
  std::optional<Error> error_;
};

// Percent-encodes each segment of a path, keeping '/'.
std::string UrlEncodePath(const std::string& path);

}  // namespace weft::connectors
