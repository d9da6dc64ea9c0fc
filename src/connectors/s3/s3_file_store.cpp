#include "connectors/s3/s3_file_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <thread>

#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time_format.h"
#include "connectors/common/curl.h"
#include "connectors/data/data.h"
#include "connectors/s3/s3_request.h"

namespace weft::connectors {
namespace {

constexpr uint64_t kDefaultPartSize = 8ull << 20;
constexpr uint64_t kMaxParts = 10'000;
// A read keeps at most this much unread before it pauses the GET.
constexpr size_t kReadAhead = 1u << 20;
// Answers other than a read's bytes (listings, values, errors) are small.
constexpr size_t kMaxAnswer = 8u << 20;
// A multipart upload younger than this may be another node's write in progress.
constexpr Millis kUnfinishedAge{3'600'000};

const std::string kEmptySha = Sha256Hex("");

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

Json AsList(const Json& v) {
  if (v.is_null()) return Json::array();
  return v.is_array() ? v : Json::array({v});
}

bool Ok2xx(long status) { return status / 100 == 2; }

// Receives a new file's bytes: one part in memory while the one before it
// is sent on a thread of its own.
class S3Sink : public FileSink {
 public:
  S3Sink(S3FileStore& store, FileInfo info)
      : store_(store), info_(std::move(info)), key_(store.KeyOf(info_.id)) {
    md_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md_, EVP_sha256(), nullptr);
  }

  ~S3Sink() override {
    if (sender_.joinable()) sender_.join();
    if (!committed_) {
      // Nothing of an unfinished file stays: its parts, or its bytes when
      // only the value failed. Best effort; DropUnfinished and the sweep
      // catch what a failure here leaves.
      if (!upload_id_.empty()) {
        S3FileStore::Call c;
        c.method = "DELETE";
        c.key = key_;
        c.query = {{"uploadId", upload_id_}};
        auto r = store_.Send(c);
        if (!r || !Ok2xx(r->status))
          log::Warn("file store: could not abort an unfinished upload",
                    {{"file", info_.id},
                     {"error", r ? store_.Refused(*r, "aborting").message : r.error().message}});
      }
      if (bytes_put_) {
        S3FileStore::Call c;
        c.method = "DELETE";
        c.key = key_;
        (void)store_.Send(c);
      }
    }
    EVP_MD_CTX_free(md_);
  }

  Result<void> Write(const char* data, size_t n) override {
    if (failed_) return Fail(*failed_);
    if (committed_) return Fail(ErrorCode::kInternal, "the file is closed");
    if (info_.size + n > store_.max_file_size())
      return Fail(ErrorCode::kPayloadTooLarge, "the file is larger than the limit of " +
                                                   std::to_string(store_.max_file_size()) +
                                                   " bytes (--max-file-size)");
    EVP_DigestUpdate(md_, data, n);
    info_.size += n;
    const uint64_t part = store_.part_size();
    while (n > 0) {
      // Small files stay small; a file that grows gets its whole part at once.
      if (buf_.capacity() < part && buf_.size() + n > (64u << 10)) buf_.reserve(part);
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, part - buf_.size()));
      buf_.append(data, take);
      data += take;
      n -= take;
      if (buf_.size() == part) {
        if (auto sent = SendPart(); !sent) {
          failed_ = sent.error();
          return sent;
        }
      }
    }
    return Ok();
  }

  Result<FileInfo> Commit() override {
    if (failed_) return Fail(*failed_);
    if (committed_) return Fail(ErrorCode::kInternal, "the file is closed");
    auto done = Finish();
    if (!done) {
      failed_ = done.error();
      return Fail(done.error());
    }
    committed_ = true;
    return info_;
  }

  uint64_t written() const override { return info_.size; }

 private:
  Result<void> Finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(md_, digest, &len);
    info_.sha256 = HexOf(digest, len);
    const std::string what = "writing file " + info_.id;
    if (upload_id_.empty()) {
      // One part or less: one PUT, signed with the file's own sha256.
      S3FileStore::Call c;
      c.method = "PUT";
      c.key = key_;
      c.body = &buf_;
      c.body_sha256 = info_.sha256;
      c.content_type = info_.content_type;
      auto r = store_.Send(c);
      if (!r) return Fail(r.error());
      if (!Ok2xx(r->status)) return Fail(store_.Refused(*r, what));
      bytes_put_ = true;
    } else {
      if (!buf_.empty()) {
        if (auto sent = SendPart(); !sent) return sent;
      }
      if (sender_.joinable()) sender_.join();
      if (send_error_) return Fail(*send_error_);
      std::string xml = "<CompleteMultipartUpload>";
      for (size_t i = 0; i < etags_.size(); ++i)
        xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags_[i] +
               "</ETag></Part>";
      xml += "</CompleteMultipartUpload>";
      S3FileStore::Call c;
      c.method = "POST";
      c.key = key_;
      c.query = {{"uploadId", upload_id_}};
      c.body = &xml;
      c.content_type = "application/xml";
      auto r = store_.Send(c);
      if (!r) return Fail(r.error());
      // S3 may answer 200 with an <Error> body when completing fails late.
      auto parsed = ParseXml(r->body);
      if (!Ok2xx(r->status) || !parsed || (*parsed)["Error"].is_object())
        return Fail(store_.Refused(*r, what + " (completing the multipart upload)"));
      upload_id_.clear();
      bytes_put_ = true;
    }
    std::string().swap(buf_);
    std::string().swap(sending_);
    // The value last: from here on the file is visible.
    const std::string value = info_.ToJson().dump();
    S3FileStore::Call c;
    c.method = "PUT";
    c.key = key_ + ".json";
    c.body = &value;
    c.content_type = "application/json";
    auto r = store_.Send(c);
    if (!r) return Fail(r.error());
    if (!Ok2xx(r->status)) return Fail(store_.Refused(*r, what + " (its value)"));
    return Ok();
  }

  // Hands the full buffer to the sender thread once the part before it is sent.
  Result<void> SendPart() {
    if (upload_id_.empty()) {
      S3FileStore::Call c;
      c.method = "POST";
      c.key = key_;
      c.query = {{"uploads", ""}};
      c.content_type = info_.content_type;
      auto r = store_.Send(c);
      if (!r) return Fail(r.error());
      if (!Ok2xx(r->status))
        return Fail(store_.Refused(*r, "writing file " + info_.id + " (starting an upload)"));
      auto xml = ParseXml(r->body);
      std::string id =
          xml ? GetString((*xml)["InitiateMultipartUploadResult"], "UploadId") : std::string();
      if (id.empty())
        return Fail(ErrorCode::kUnavailable, "the file store " + store_.Describe() +
                                                 " gave no UploadId for a multipart upload");
      upload_id_ = id;
    }
    if (sender_.joinable()) sender_.join();
    if (send_error_) return Fail(*send_error_);
    sending_.swap(buf_);
    buf_.clear();
    etags_.emplace_back();
    const size_t number = etags_.size();
    sender_ = std::thread([this, number] { SendOne(number); });
    return Ok();
  }

  // On the sender thread: part `number` from `sending_`.
  void SendOne(size_t number) {
    S3FileStore::Call c;
    c.method = "PUT";
    c.key = key_;
    c.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}};
    c.body = &sending_;
    c.body_sha256 = Sha256Hex(sending_);
    auto r = store_.Send(c);
    if (!r) {
      send_error_ = r.error();
    } else if (!Ok2xx(r->status)) {
      send_error_ =
          store_.Refused(*r, "writing file " + info_.id + " (part " + std::to_string(number) + ")");
    } else {
      etags_[number - 1] = r->Header("etag");
    }
  }

  S3FileStore& store_;
  FileInfo info_;
  std::string key_;
  EVP_MD_CTX* md_ = nullptr;
  std::string buf_;      // the part being filled
  std::string sending_;  // the part the sender thread sends
  std::thread sender_;
  std::optional<Error> send_error_;  // written by the sender, read after join
  std::string upload_id_;
  std::vector<std::string> etags_;
  bool bytes_put_ = false, committed_ = false;
  std::optional<Error> failed_;
};

// Reads a file with one ranged GET driven from Read: libcurl's multi
// interface, paused while kReadAhead bytes wait unread.
class S3Source : public FileSource {
 public:
  S3Source(const S3FileStore& store, FileInfo info)
      : store_(store),
        info_(std::move(info)),
        env_{store.clock(), store.clock().Now() + Millis(24LL * 3600 * 1000), never_} {}

  ~S3Source() override {
    if (multi_) {
      curl_multi_remove_handle(multi_, transfer_->handle());
      transfer_.reset();
      curl_multi_cleanup(multi_);
    }
  }

  Result<void> Start(uint64_t offset) {
    expected_ = info_.size > offset ? info_.size - offset : 0;
    if (expected_ == 0) {
      done_ = true;
      return Ok();
    }
    std::string host, path;
    url_ = store_.UrlOf(store_.KeyOf(info_.id), {}, &host, &path);
    transfer_ = std::make_unique<Transfer>(env_, true);
    transfer_->UseFileBuffers();
    CURL* h = transfer_->handle();
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    for (const auto& [k, v] : store_.Sign("GET", host, path, {}, kEmptySha))
      headers_.Add(k + ": " + v);
    ranged_ = offset > 0;
    if (ranged_) headers_.Add("Range: bytes=" + std::to_string(offset) + "-");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &S3Source::OnData);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
    multi_ = curl_multi_init();
    curl_multi_add_handle(multi_, h);
    return Ok();
  }

  const FileInfo& info() const override { return info_; }

  Result<size_t> Read(char* data, size_t n) override {
    while (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
      if (done_) return End();
      if (paused_) {
        paused_ = false;
        curl_easy_pause(transfer_->handle(), CURLPAUSE_CONT);  // may deliver at once
        if (!buf_.empty()) break;
      }
      int running = 0;
      if (CURLMcode mc = curl_multi_perform(multi_, &running); mc != CURLM_OK)
        return Fail(ErrorCode::kUnavailable,
                    "reading file " + info_.id + ": " + curl_multi_strerror(mc));
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg == CURLMSG_DONE) {
          done_ = true;
          result_ = msg->data.result;
        }
      }
      if (buf_.empty() && !done_ && !paused_) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    size_t take = std::min(n, buf_.size() - pos_);
    std::copy_n(buf_.data() + pos_, take, data);
    pos_ += take;
    return take;
  }

 private:
  static size_t OnData(char* data, size_t size, size_t n, void* self) {
    auto* s = static_cast<S3Source*>(self);
    size_t len = size * n;
    if (s->status_ == 0)
      curl_easy_getinfo(s->transfer_->handle(), CURLINFO_RESPONSE_CODE, &s->status_);
    if (!Ok2xx(s->status_)) {
      if (s->error_body_.size() < (64u << 10)) s->error_body_.append(data, len);
      return len;
    }
    // A store that ignored the Range would send the file from its start.
    if (s->ranged_ && s->status_ != 206) return 0;
    if (s->buf_.size() - s->pos_ >= kReadAhead) {
      s->paused_ = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    if (s->received_ + len > s->expected_) return 0;  // more than the file holds
    s->received_ += len;
    s->buf_.append(data, len);
    return len;
  }

  // At the end of the GET: 0 when every byte came, else why not.
  Result<size_t> End() {
    if (expected_ == 0) return size_t{0};
    if (status_ == 0) curl_easy_getinfo(transfer_->handle(), CURLINFO_RESPONSE_CODE, &status_);
    const std::string what = "reading file " + info_.id;
    if (status_ != 0 && !Ok2xx(status_)) {
      S3FileStore::Reply r;
      r.status = status_;
      r.body = error_body_;
      if (status_ == 404)
        return Fail(ErrorCode::kNotFound,
                    "file " + info_.id + " does not exist (its bytes are gone from the bucket)");
      return Fail(store_.Refused(r, what));
    }
    if (ranged_ && status_ != 206)
      return Fail(ErrorCode::kUnavailable, what + ": the file store " + store_.Describe() +
                                               " answered a range request with HTTP " +
                                               std::to_string(status_) + ", not 206");
    if (result_ != CURLE_OK)
      return Fail(ErrorCode::kUnavailable, what + " from the file store " + store_.Describe() +
                                               ": " + transfer_->Message(result_));
    if (received_ != expected_)
      return Fail(ErrorCode::kUnavailable, what + ": the file store sent " +
                                               std::to_string(received_) + " of " +
                                               std::to_string(expected_) + " bytes");
    return size_t{0};
  }

  const S3FileStore& store_;
  FileInfo info_;
  std::atomic<bool> never_{false};
  CallEnv env_;
  std::string url_;
  HeaderList headers_;
  std::unique_ptr<Transfer> transfer_;
  CURLM* multi_ = nullptr;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t expected_ = 0, received_ = 0;
  long status_ = 0;
  std::string error_body_;
  bool paused_ = false, done_ = false, ranged_ = false;
  CURLcode result_ = CURLE_OK;
};

}  // namespace

Result<void> ParseS3FilesUrl(const std::string& url, S3FileStoreOptions* o) {
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kValidation,
                "--files " + url + ": " + why + " (the form is s3://bucket or s3://bucket/prefix)");
  };
  if (!url.starts_with("s3://")) return bad("not an s3:// URL");
  std::string rest = url.substr(5);
  size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (bucket.size() < 3 || bucket.size() > 63) return bad("a bucket name has 3 to 63 characters");
  for (unsigned char c : bucket)
    if (!(std::islower(c) || std::isdigit(c) || c == '.' || c == '-'))
      return bad("a bucket name has lowercase letters, digits, '.' and '-' only");
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (prefix.size() > 512) return bad("the prefix is longer than 512 characters");
  if (prefix.starts_with("/") || prefix.find("//") != std::string::npos)
    return bad("the prefix has an empty segment");
  for (unsigned char c : prefix)
    if (c < 0x20 || c == 0x7f) return bad("the prefix holds a control character");
  o->bucket = bucket;
  o->prefix = prefix;
  return Ok();
}

void S3OptionsFromEnvironment(S3FileStoreOptions* o) {
  o->access_key_id = Env("AWS_ACCESS_KEY_ID");
  o->secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  o->session_token = Env("AWS_SESSION_TOKEN");
  std::string region = Env("AWS_REGION");
  if (region.empty()) region = Env("AWS_DEFAULT_REGION");
  if (!region.empty()) o->region = region;
  std::string endpoint = Env("AWS_ENDPOINT_URL");
  if (!endpoint.empty()) {
    o->endpoint = endpoint;
    o->path_style = true;
  }
}

Result<void> S3OptionsFromConnection(const Connection& c, S3FileStoreOptions* o) {
  if (c.connector != "s3")
    return Fail(ErrorCode::kValidation, "--files-connection " + c.name + " is a " + c.connector +
                                            " connection; the file store needs an s3 one");
  o->region = GetString(c.settings, "region", "us-east-1");
  o->endpoint = GetString(c.settings, "endpoint");
  o->path_style = c.settings.value("path_style", false) == true;
  o->access_key_id = GetString(c.auth, "access_key_id");
  o->secret_access_key = GetString(c.auth, "secret_access_key");
  o->session_token = GetString(c.auth, "session_token");
  return Ok();
}

std::string S3FileStore::Reply::Header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return "";
}

S3FileStore::S3FileStore(S3FileStoreOptions options) : options_(std::move(options)) {
  if (options_.clock) {
    clock_ = options_.clock;
  } else {
    own_clock_ = std::make_unique<SystemClock>();
    clock_ = own_clock_.get();
  }
  if (options_.endpoint.empty())
    options_.endpoint = "https://s3." + options_.region + ".amazonaws.com";
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/')
    options_.endpoint.pop_back();
  if (options_.part_size == 0) {
    options_.part_size = kDefaultPartSize;
    while (options_.max_file_size / options_.part_size >= kMaxParts) options_.part_size *= 2;
  }
}

S3FileStore::~S3FileStore() = default;

Result<std::unique_ptr<S3FileStore>> S3FileStore::Open(const S3FileStoreOptions& options) {
  if (options.bucket.empty())
    return Fail(ErrorCode::kValidation, "the file store needs a bucket (s3://bucket/prefix)");
  if (options.access_key_id.empty() || options.secret_access_key.empty())
    return Fail(ErrorCode::kValidation,
                "no credentials for s3://" + options.bucket +
                    ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name an s3 "
                    "connection with --files-connection");
  std::unique_ptr<S3FileStore> store(new S3FileStore(options));
  // Reachable and writable: a small object put and deleted again.
  const std::string key = store->KeyOf(".weft-write-check-" + RandomToken(64));
  const std::string body = "weft checks that it may write here\n";
  Call put;
  put.method = "PUT";
  put.key = key;
  put.body = &body;
  put.content_type = "text/plain";
  auto r = store->Send(put);
  if (!r) return Fail(r.error());
  if (!Ok2xx(r->status)) return Fail(store->Refused(*r, "a test write"));
  Call del;
  del.method = "DELETE";
  del.key = key;
  r = store->Send(del);
  if (!r) return Fail(r.error());
  if (!Ok2xx(r->status) && r->status != 404)
    return Fail(store->Refused(*r, "deleting the test write"));
  return store;
}

std::string S3FileStore::Describe() const {
  return "s3://" + options_.bucket + (options_.prefix.empty() ? "" : "/" + options_.prefix);
}

std::string S3FileStore::KeyOf(const std::string& id) const {
  return options_.prefix.empty() ? id : options_.prefix + "/" + id;
}

std::string S3FileStore::UrlOf(const std::string& key,
                               const std::map<std::string, std::string>& query, std::string* host,
                               std::string* path) const {
  S3Target t = S3Url(options_.endpoint, options_.bucket, options_.path_style, key, query);
  *host = t.host;
  *path = t.path;
  return t.url;
}

std::map<std::string, std::string> S3FileStore::Sign(
    const std::string& method, const std::string& host, const std::string& path,
    const std::map<std::string, std::string>& query, const std::string& payload_sha256) const {
  SigV4Request sig{method,
                   host,
                   path,
                   query,
                   "",
                   payload_sha256,
                   options_.region,
                   options_.access_key_id,
                   options_.secret_access_key,
                   options_.session_token,
                   clock_->Now()};
  return SignV4(sig);
}

Result<S3FileStore::Reply> S3FileStore::Send(const Call& call) const {
  std::string host, path;
  const std::string url = UrlOf(call.key, call.query, &host, &path);
  static const std::string kNoBody;
  const std::string& body = call.body ? *call.body : kNoBody;
  std::atomic<bool> never{false};
  CallEnv env{*clock_, clock_->Now() + options_.request_timeout, never};
  Transfer t(env, true, options_.request_timeout);
  CURL* h = t.handle();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  HeaderList headers;
  const std::string sha = call.body_sha256.empty() ? Sha256Hex(body) : call.body_sha256;
  for (const auto& [k, v] : Sign(call.method, host, path, call.query, sha))
    headers.Add(k + ": " + v);
  if (!call.content_type.empty()) headers.Add("Content-Type: " + call.content_type);
  headers.Add("Expect:");
  if (call.method == "PUT") {
    if (body.size() > (1u << 20)) t.UseFileBuffers();
    t.Upload(&body);
  } else if (call.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (call.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (call.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  Reply r;
  t.CaptureBody(&r.body, kMaxAnswer);
  t.CaptureHeaders(&r.headers);
  CURLcode rc = t.Perform();
  if (rc != CURLE_OK)
    return Fail(ErrorCode::kUnavailable, "the file store " + Describe() + " is unreachable (" +
                                             call.method + " " + url + "): " + t.Message(rc));
  r.status = t.Status();
  return r;
}

Error S3FileStore::Refused(const Reply& r, const std::string& what, bool not_found) const {
  std::string detail = S3ErrorDetail(r.body);
  std::string message = "the file store " + Describe() + " refused " + what + ": HTTP " +
                        std::to_string(r.status) + (detail.empty() ? "" : " (" + detail + ")");
  return Error(not_found && r.status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
               message);
}

Result<std::unique_ptr<FileSink>> S3FileStore::Create(const std::string& name,
                                                      const std::string& content_type) {
  FileInfo info;
  info.id = NewFileId();
  info.name = name;
  info.content_type = content_type.empty() ? "application/octet-stream" : content_type;
  info.created_at = clock_->Now();
  return std::unique_ptr<FileSink>(new S3Sink(*this, std::move(info)));
}

Result<FileInfo> S3FileStore::Stat(const std::string& id) {
  if (!IsFileId(id)) return Fail(ErrorCode::kNotFound, "file " + id + " does not exist");
  Call c;
  c.key = KeyOf(id) + ".json";
  auto r = Send(c);
  if (!r) return Fail(r.error());
  if (r->status == 404) return Fail(ErrorCode::kNotFound, "file " + id + " does not exist");
  if (!Ok2xx(r->status)) return Fail(Refused(*r, "reading the value of file " + id));
  std::string error;
  auto j = ParseJson(r->body, &error);
  if (!j) return Fail(ErrorCode::kInternal, "the value of file " + id + " is unreadable");
  auto info = FileInfoFromJson(*j, "the stored file value");
  if (!info) return Fail(info.error());
  if (info->id != id)
    return Fail(ErrorCode::kInternal, "the value of file " + id + " names another file");
  return info;
}

Result<std::unique_ptr<FileSource>> S3FileStore::Open(const std::string& id, uint64_t offset) {
  auto info = Stat(id);
  if (!info) return Fail(info.error());
  auto source = std::make_unique<S3Source>(*this, std::move(*info));
  if (auto started = source->Start(offset); !started) return Fail(started.error());
  return std::unique_ptr<FileSource>(std::move(source));
}

Result<void> S3FileStore::Remove(const std::string& id) {
  if (!IsFileId(id)) return Ok();
  // The value first: a file without it is no longer visible.
  for (const std::string& key : {KeyOf(id) + ".json", KeyOf(id)}) {
    Call c;
    c.method = "DELETE";
    c.key = key;
    auto r = Send(c);
    if (!r) return Fail(r.error());
    if (!Ok2xx(r->status) && r->status != 404) return Fail(Refused(*r, "removing file " + id));
  }
  return Ok();
}

Result<void> S3FileStore::ForEach(const std::function<void(const FileInfo&)>& fn) {
  const std::string prefix = options_.prefix.empty() ? "" : options_.prefix + "/";
  std::string token;
  for (;;) {
    Call c;
    c.key = "";
    c.query = {{"list-type", "2"}, {"max-keys", "1000"}};
    if (!prefix.empty()) c.query["prefix"] = prefix;
    if (!token.empty()) c.query["continuation-token"] = token;
    auto r = Send(c);
    if (!r) return Fail(r.error());
    if (!Ok2xx(r->status)) return Fail(Refused(*r, "listing the files"));
    auto xml = ParseXml(r->body);
    if (!xml)
      return Fail(ErrorCode::kUnavailable,
                  "listing the files of " + Describe() + ": " + xml.error().message);
    const Json& result = (*xml)["ListBucketResult"];
    for (const auto& o : AsList(result.value("Contents", Json(nullptr)))) {
      std::string key = GetString(o, "Key");
      if (!key.starts_with(prefix)) continue;
      std::string id = key.substr(prefix.size());
      if (!IsFileId(id)) continue;  // values, the write check, anything else
      auto modified = ParseIso(GetString(o, "LastModified"));
      if (!modified) continue;  // not known to be old: kept
      FileInfo info;
      info.id = id;
      info.created_at = *modified;
      try {
        info.size = std::stoull(GetString(o, "Size", "0"));
      } catch (...) {
      }
      fn(info);
    }
    token = GetString(result, "NextContinuationToken");
    if (GetString(result, "IsTruncated") != "true" || token.empty()) break;
  }
  return Ok();
}

Result<int64_t> S3FileStore::DropUnfinished() {
  const std::string prefix = options_.prefix.empty() ? "" : options_.prefix + "/";
  const TimePoint cutoff = clock_->Now() - kUnfinishedAge;
  std::vector<std::pair<std::string, std::string>> old;  // key, upload id
  std::string key_marker, id_marker;
  for (;;) {
    Call c;
    c.key = "";
    c.query = {{"uploads", ""}};
    if (!prefix.empty()) c.query["prefix"] = prefix;
    if (!key_marker.empty()) c.query["key-marker"] = key_marker;
    if (!id_marker.empty()) c.query["upload-id-marker"] = id_marker;
    auto r = Send(c);
    if (!r) return Fail(r.error());
    if (!Ok2xx(r->status)) return Fail(Refused(*r, "listing unfinished uploads"));
    auto xml = ParseXml(r->body);
    if (!xml)
      return Fail(ErrorCode::kUnavailable,
                  "listing the unfinished uploads of " + Describe() + ": " + xml.error().message);
    const Json& result = (*xml)["ListMultipartUploadsResult"];
    for (const auto& u : AsList(result.value("Upload", Json(nullptr)))) {
      std::string key = GetString(u, "Key");
      auto initiated = ParseIso(GetString(u, "Initiated"));
      if (!key.starts_with(prefix) || !initiated || *initiated >= cutoff) continue;
      old.emplace_back(key, GetString(u, "UploadId"));
    }
    key_marker = GetString(result, "NextKeyMarker");
    id_marker = GetString(result, "NextUploadIdMarker");
    if (GetString(result, "IsTruncated") != "true" || key_marker.empty()) break;
  }
  int64_t dropped = 0;
  for (const auto& [key, upload_id] : old) {
    Call c;
    c.method = "DELETE";
    c.key = key;
    c.query = {{"uploadId", upload_id}};
    auto r = Send(c);
    if (!r) return Fail(r.error());
    if (Ok2xx(r->status) || r->status == 404) ++dropped;
  }
  if (dropped > 0)
    log::Info("file store: aborted unfinished uploads", {{"count", std::to_string(dropped)}});
  return dropped;
}

}  // namespace weft::connectors
