// S3FileStore: the FileStore (core/files.h) several nodes share, in an
// S3-compatible bucket (`weft serve --files s3://bucket/prefix`). It lives
// beside the s3 connector because it talks to the bucket the same way (URLs
// and SigV4 from s3_request.h, libcurl through common/curl.h); store/ may not
// include connectors/, and only app/ names this class.
//
// Layout under the prefix, flat: the bytes as `<prefix>/<id>` and the file
// value as a sidecar object `<prefix>/<id>.json` (S3 metadata would have to be
// known when an upload starts; the sha256 and size are known only at its end).
// A file is visible once its value is: the bytes go first, the value last,
// and Remove deletes the value first.
//
// Writes stream: a sink holds one part in memory (`part_size`, 8 MiB or more)
// and sends the one before it on a thread of its own while the next fills
// (two parts at most per sink), hashing the whole file as bytes arrive. A file
// that fits in one part goes up in one PUT at Commit; a larger one is a
// multipart upload, completed at Commit and aborted when the sink is destroyed
// without it. Reads stream too: one ranged GET, paused whenever 1 MiB waits
// unread. Thread-safe; a sink or source is used by one thread at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "core/files.h"
#include "core/model.h"

namespace weft::connectors {

struct S3FileStoreOptions {
  std::string bucket;
  std::string prefix;  // without leading or trailing '/'; may be empty
  std::string region = "us-east-1";
  std::string endpoint;  // "": AWS for the region; else an S3-compatible store's URL
  bool path_style = false;
  std::string access_key_id, secret_access_key, session_token;
  uint64_t max_file_size = 5ull << 30;  // --max-file-size
  // Bytes per part of a multipart upload; 0: 8 MiB, or more when needed so
  // that max_file_size fits in S3's 10,000 parts.
  uint64_t part_size = 0;
  Millis request_timeout{300'000};  // each request but a read's GET
  Clock* clock = nullptr;           // created_at and signatures; null: the system clock
};

// Reads "s3://bucket/prefix" (the prefix may be empty or several segments)
// into `o`. kValidation naming --files when it is not of that form.
Result<void> ParseS3FilesUrl(const std::string& url, S3FileStoreOptions* o);
// Credentials and place from AWS's environment variables: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (else
// AWS_DEFAULT_REGION) and AWS_ENDPOINT_URL (path-style when given).
void S3OptionsFromEnvironment(S3FileStoreOptions* o);
// Credentials, region, endpoint and path style from a connection of the s3
// connector (--files-connection); the bucket stays the one of the URL.
// kValidation when the connection is not an s3 one.
Result<void> S3OptionsFromConnection(const Connection& c, S3FileStoreOptions* o);

class S3FileStore : public FileStore {
 public:
  // Checks that the bucket answers and takes a write (a small object under
  // the prefix, put and deleted): kUnavailable saying why otherwise.
  static Result<std::unique_ptr<S3FileStore>> Open(const S3FileStoreOptions& options);
  ~S3FileStore() override;

  Result<std::unique_ptr<FileSink>> Create(const std::string& name,
                                           const std::string& content_type) override;
  Result<std::unique_ptr<FileSource>> Open(const std::string& id, uint64_t offset = 0) override;
  Result<FileInfo> Stat(const std::string& id) override;
  Result<void> Remove(const std::string& id) override;
  // Every id whose bytes are in the bucket, from the listing alone: id, size
  // and created_at (the object's LastModified); bytes whose value never came
  // (a crash between the two) are listed too, so the sweep removes them.
  Result<void> ForEach(const std::function<void(const FileInfo&)>& fn) override;
  // Aborts the multipart uploads under the prefix begun over an hour ago
  // (younger ones may be other nodes' writes in progress).
  Result<int64_t> DropUnfinished() override;
  bool Shared() const override { return true; }
  uint64_t max_file_size() const override { return options_.max_file_size; }
  std::string Describe() const override;
  uint64_t part_size() const { return options_.part_size; }

  // One request to the bucket (for the sink and the source; thread-safe).
  struct Reply {
    long status = 0;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string Header(const std::string& lower_name) const;
  };
  struct Call {
    std::string method = "GET";
    std::string key;  // the full key, prefix included
    std::map<std::string, std::string> query;
    const std::string* body = nullptr;  // sent as is (PUT, POST)
    std::string body_sha256;            // its sha256 when known, else computed
    std::string content_type;
  };
  // kUnavailable when the bucket cannot be reached; any HTTP status otherwise.
  Result<Reply> Send(const Call& call) const;
  // The error for an unexpected answer: kNotFound for 404 when `not_found`,
  // else kUnavailable with S3's code and message.
  Error Refused(const Reply& r, const std::string& what, bool not_found = false) const;
  std::string KeyOf(const std::string& id) const;
  Clock& clock() const { return *clock_; }
  // Headers to sign and send for a request to `key`.
  std::map<std::string, std::string> Sign(const std::string& method, const std::string& host,
                                          const std::string& path,
                                          const std::map<std::string, std::string>& query,
                                          const std::string& payload_sha256) const;
  std::string UrlOf(const std::string& key, const std::map<std::string, std::string>& query,
                    std::string* host, std::string* path) const;

 private:
  explicit S3FileStore(S3FileStoreOptions options);
  S3FileStoreOptions options_;
  std::unique_ptr<Clock> own_clock_;
  Clock* clock_;
};

}  // namespace weft::connectors
