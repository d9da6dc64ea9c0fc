#include "connectors/s3/s3.h"

#include <openssl/evp.h>

#include <cstdio>
#include <ctime>
#include <thread>

#include "common/base64.h"
#include "connectors/common/curl.h"
#include "connectors/common/file_transfer.h"
#include "connectors/common/file_values.h"
#include "connectors/common/redact.h"
#include "connectors/common/spec.h"
#include "connectors/data/data.h"
#include "connectors/s3/s3_request.h"
#include "core/poll.h"

namespace weft::connectors {
namespace {

ConnectorSpec MakeSpec() {
  ConnectorSpec s;
  s.name = "s3";
  s.title = "S3";
  s.description = "Objects in an S3 bucket (AWS or any S3-compatible store).";
  s.icon = "bucket";
  s.needs_connection = true;
  s.fields = {
      Field("bucket", "Bucket", "string", true, ""),
      Field("region", "Region", "string", false, "", "us-east-1"),
      Field("endpoint", "Endpoint", "string", false,
            "For S3-compatible stores, e.g. http://minio.local:9000. Default: AWS for the region."),
      Field(
          "path_style", "Path-style URLs", "boolean", false,
          "endpoint/bucket/key instead of bucket.endpoint/key (most S3-compatible stores need it).",
          false),
      Field("timeout", "Timeout", "duration", false, "", "60s")};
  s.auth_types = {
      {"access_key",
       "Access key",
       {Field("access_key_id", "Access key ID", "string", true, ""),
        SecretField("secret_access_key", "Secret access key", true, ""),
        SecretField("session_token", "Session token", false, "For temporary credentials.")}}};
  s.actions = {
      {"list",
       "List objects",
       "Lists the objects under a prefix (every page).",
       {Field("prefix", "Prefix", "string", false, "e.g. exports/2026/"),
        Field("delimiter", "Delimiter", "string", false, "\"/\" groups deeper keys into prefixes."),
        Field("max_keys", "Limit", "integer", false, "At most this many objects.", 1000)},
       "{objects: [{key, size, last_modified, etag}], prefixes: [...], truncated}",
       {}},
      {"get",
       "Download an object",
       "Reads an object, streamed into a file value or as text.",
       {Field("key", "Key", "string", true, ""),
        Field("as", "Read as", "enum", false,
              "file streams the object into a file value (any size), named after the key's last "
              "segment, with S3's Content-Type; text and base64 put it in the output (up to 256 "
              "MiB); auto gives text when the Content-Type is text (text/*, JSON, XML, CSV) and "
              "the object is at most 1 MiB of UTF-8, and a file otherwise (text or base64 when "
              "files are off).",
              "auto", {"auto", "file", "text", "base64"}),
        Field("encoding", "Encoding", "enum", false, "Older name of as (auto, text, base64).",
              nullptr, {"auto", "text", "base64"})},
       "{key, size, content_type, etag, file} with a file; {key, size, content_type, etag, "
       "encoding, content} with text or base64",
       {}},
      {"put",
       "Upload an object",
       "Writes an object, replacing it when it exists.",
       {Field("key", "Key", "string", true, ""),
        Field("file", "File", "any", false,
              "A file value, e.g. {{ steps.download.output.file }}; streamed from the file store "
              "(a multipart upload in parts of 64 MiB above 64 MiB). Give this or content."),
        Field("content", "Content", "any", false, "Small text, or base64 (see encoding)."),
        Field("encoding", "Encoding", "enum", false, "How content is written.", "text",
              {"text", "base64"}),
        Field("content_type", "Content type", "string", false,
              "Default: the file's content type, else application/octet-stream.")},
       "{key, size, etag} (and sha256 and parts with a file)",
       {}},
      {"delete",
       "Delete an object",
       "Removes an object (no error when it does not exist).",
       {Field("key", "Key", "string", true, "")},
       "{key, deleted}",
       {}},
  };
  return s;
}

const ConnectorSpec& Spec() {
  static const ConnectorSpec* spec = new ConnectorSpec(MakeSpec());
  return *spec;
}

struct S3Response {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

std::string Header(const S3Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

// A body streamed from bytes [offset, offset + length) of a file: a part of
// a multipart upload. Read and seek callbacks for libcurl over FileStore::Open.
// Files above this go up in parts of this size.
constexpr uint64_t kPartSize = 64ull << 20;

class RangeReader {
 public:
  RangeReader(FileStore* files, std::string id, uint64_t offset, uint64_t length)
      : files_(files), id_(std::move(id)), offset_(offset), length_(length) {}
  static size_t Read(char* out, size_t size, size_t n, void* self) {
    auto* r = static_cast<RangeReader*>(self);
    size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, r->length_ - r->pos_));
    if (want == 0) return 0;
    if (!r->source_) {
      auto src = r->files_->Open(r->id_, r->offset_ + r->pos_);
      if (!src) {
        r->error_ = src.error();
        return CURL_READFUNC_ABORT;
      }
      r->source_ = std::move(*src);
    }
    auto got = r->source_->Read(out, want);
    if (!got || *got == 0) {
      r->error_ =
          got ? Error(ErrorCode::kInternal, "file " + r->id_ + " ended early") : got.error();
      return CURL_READFUNC_ABORT;
    }
    r->pos_ += *got;
    return *got;
  }
  static int Seek(void* self, curl_off_t offset, int origin) {
    auto* r = static_cast<RangeReader*>(self);
    if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > r->length_)
      return CURL_SEEKFUNC_CANTSEEK;
    r->source_.reset();
    r->pos_ = static_cast<uint64_t>(offset);
    return CURL_SEEKFUNC_OK;
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  FileStore* files_;
  std::string id_;
  uint64_t offset_, length_, pos_ = 0;
  std::unique_ptr<FileSource> source_;
  std::optional<Error> error_;
};

// The sha256 of bytes [offset, offset + length) of a file, read in 1 MiB
// pieces (SigV4 signs each part's payload).
Result<std::string> HashRange(FileStore* files, const std::string& id, uint64_t offset,
                              uint64_t length) {
  auto src = files->Open(id, offset);
  if (!src) return Fail(src.error());
  std::vector<char> buf(1u << 20);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  uint64_t left = length;
  while (left > 0) {
    auto got = (*src)->Read(buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), left)));
    if (!got || *got == 0) {
      EVP_MD_CTX_free(md);
      if (!got) return Fail(got.error());
      return Fail(ErrorCode::kInternal, "file " + id + " ended early");
    }
    EVP_DigestUpdate(md, buf.data(), *got);
    left -= *got;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(md, digest, &len);
  EVP_MD_CTX_free(md);
  return HexOf(digest, len);
}

bool Generic(const std::string& content_type) {
  return content_type.empty() || content_type.starts_with("application/octet-stream") ||
         content_type.starts_with("binary/octet-stream");
}

// Where a GET's body goes: a 2xx body into a new file (created at the first
// byte, or at the end for an empty object, once the Content-Type is known),
// or kept in memory when `allow_text` and S3 says it is text of at most
// kAutoTextMax bytes; any other answer's body (S3's error XML) into the
// response's body.
class ObjectWriter {
 public:
  ObjectWriter(FileStore* files, std::string name, bool allow_text)
      : files_(files), name_(std::move(name)), allow_text_(allow_text) {}
  void Attach(CURL* h, std::string* error_body) {
    h_ = h;
    error_body_ = error_body;
  }
  static size_t Write(char* data, size_t size, size_t n, void* self) {
    auto* w = static_cast<ObjectWriter*>(self);
    size_t len = size * n;
    if (!w->decided_) {
      long status = 0;
      curl_easy_getinfo(w->h_, CURLINFO_RESPONSE_CODE, &status);
      w->ok_ = status / 100 == 2;
      w->decided_ = true;
      if (w->ok_ && !w->Decide()) return 0;
    }
    if (!w->ok_) {
      if (w->error_body_->size() < (1u << 20)) w->error_body_->append(data, len);
      return len;
    }
    if (w->as_text_ && w->text_.size() + len > kAutoTextMax) {
      // Longer than its Content-Length said: a file after all.
      if (!w->OpenSink() || !w->SinkWrite(w->text_.data(), w->text_.size())) return 0;
      w->as_text_ = false;
      std::string().swap(w->text_);
    }
    if (w->as_text_) {
      w->text_.append(data, len);
      return len;
    }
    return w->SinkWrite(data, len) ? len : 0;
  }
  // After a transfer that ended well: an empty 2xx body still makes a file.
  void Finish(long status) {
    if (!decided_ && status / 100 == 2) {
      decided_ = ok_ = true;
      Decide();
    }
  }
  const std::optional<Error>& error() const { return error_; }
  bool as_text() const { return as_text_; }
  const std::string& text() const { return text_; }
  FileSink* sink() { return sink_.get(); }
  const std::string& content_type() const { return content_type_; }
  bool OpenSink() {
    auto sink = files_->Create(name_, content_type_);
    if (!sink) {
      error_ = sink.error();
      return false;
    }
    sink_ = std::move(*sink);
    return true;
  }

 private:
  bool Decide() {
    char* ct = nullptr;
    curl_easy_getinfo(h_, CURLINFO_CONTENT_TYPE, &ct);
    content_type_ = ct ? ct : "";
    if (Generic(content_type_)) content_type_ = GuessContentType(name_);
    curl_off_t length = -1;
    curl_easy_getinfo(h_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (allow_text_ && IsTextContentType(content_type_) && length >= 0 &&
        static_cast<uint64_t>(length) <= kAutoTextMax) {
      as_text_ = true;
      return true;
    }
    return OpenSink();
  }
  bool SinkWrite(const char* data, size_t n) {
    if (auto r = sink_->Write(data, n); !r) {
      error_ = r.error();
      return false;
    }
    return true;
  }

  FileStore* files_;
  std::string name_;
  bool allow_text_;
  CURL* h_ = nullptr;
  std::string* error_body_ = nullptr;
  bool decided_ = false, ok_ = false, as_text_ = false;
  std::string content_type_, text_;
  std::unique_ptr<FileSink> sink_;
  std::optional<Error> error_;
};

// One request to the bucket.
struct S3Request {
  std::string method = "GET";
  std::string key;
  std::map<std::string, std::string> query;
  std::string payload;  // a small body (PUT, POST)
  std::string content_type;
  // A body streamed from bytes [offset, offset + length) of a file whose
  // sha256 is `sha256` (instead of payload).
  FileStore* files = nullptr;
  const FileInfo* file = nullptr;
  uint64_t offset = 0, length = 0;
  std::string sha256;
  // Where the body goes (instead of S3Response::body).
  ObjectWriter* writer = nullptr;
  // Signed x-amz-* headers (lower case), e.g. x-amz-copy-source.
  std::map<std::string, std::string> amz_headers;
};

class Bucket {
 public:
  Bucket(const Connection& c, const CallEnv& env) : c_(c), env_(env), redact_(c, Spec()) {
    bucket_ = GetString(c.settings, "bucket");
    region_ = GetString(c.settings, "region", "us-east-1");
    endpoint_ = GetString(c.settings, "endpoint", "https://s3." + region_ + ".amazonaws.com");
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
    path_style_ = c.settings.value("path_style", false) == true;
    auto t = OptDuration(c.settings, "timeout");
    if (t && t->has_value()) timeout_ = **t;
  }

  // One signed request; transport failures come back as the outcome.
  std::variant<S3Response, ActionOutcome> Call(const std::string& method, const std::string& key,
                                               const std::map<std::string, std::string>& query,
                                               const std::string& payload,
                                               const std::string& content_type) {
    S3Request q;
    q.method = method;
    q.key = key;
    q.query = query;
    q.payload = payload;
    q.content_type = content_type;
    return Send(q);
  }

  std::variant<S3Response, ActionOutcome> Send(const S3Request& q) {
    const S3Target target = S3Url(endpoint_, bucket_, path_style_, q.key, q.query);
    const std::string& url = target.url;
    SigV4Request sig{q.method,
                     target.host,
                     target.path,
                     q.query,
                     q.file ? std::string() : q.payload,
                     q.file ? q.sha256 : std::string(),
                     region_,
                     GetString(c_.auth, "access_key_id"),
                     GetString(c_.auth, "secret_access_key"),
                     GetString(c_.auth, "session_token"),
                     env_.clock.Now(),
                     q.amz_headers};
    Transfer t(env_, true, timeout_);
    CURL* h = t.handle();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    HeaderList headers;
    for (const auto& [k, v] : SignV4(sig)) headers.Add(k + ": " + v);
    if (!q.content_type.empty()) headers.Add("Content-Type: " + q.content_type);
    headers.Add("Expect:");
    std::string upload = q.payload;
    std::unique_ptr<RangeReader> range;
    if (q.file) {
      if (q.offset == 0 && q.length == q.file->size) {
        t.UploadFile(q.files, *q.file);
      } else {
        range = std::make_unique<RangeReader>(q.files, q.file->id, q.offset, q.length);
        t.UseFileBuffers();
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, &RangeReader::Read);
        curl_easy_setopt(h, CURLOPT_READDATA, range.get());
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, &RangeReader::Seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, range.get());
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(q.length));
      }
    } else if (q.method == "PUT") {
      t.Upload(&upload);
    } else if (q.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, upload.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(upload.size()));
    } else if (q.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (q.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q.method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    S3Response r;
    if (q.writer) {
      t.UseFileBuffers();
      q.writer->Attach(h, &r.body);
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &ObjectWriter::Write);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, q.writer);
    } else {
      t.CaptureBody(&r.body);
    }
    t.CaptureHeaders(&r.headers);
    CURLcode rc = t.Perform();
    if (rc != CURLE_OK) {
      const std::string what = q.method + " " + url;
      if (q.writer && q.writer->error()) return FileFailure(*q.writer->error(), redact_(what));
      if (range && range->error()) return FileFailure(*range->error(), redact_(what));
      ActionOutcome o = t.Failure(rc, what);
      o.error->message = redact_(o.error->message);
      return o;
    }
    r.status = t.Status();
    if (q.writer) q.writer->Finish(r.status);
    return r;
  }

  // The failure for a non-2xx answer, with S3's error code and message.
  ActionOutcome Failure(const S3Response& r, const std::string& what) const {
    std::string detail = S3ErrorDetail(r.body);
    std::string message = what + ": S3 answered HTTP " + std::to_string(r.status) +
                          (detail.empty() ? "" : " (" + detail + ")");
    bool retryable = r.status >= 500 || r.status == 429;
    return ActionOutcome::Failed(ErrorCode::kStepFailed, redact_(message), retryable);
  }

  const std::string& name() const { return bucket_; }

 private:
  const Connection& c_;
  const CallEnv& env_;
  Redactor redact_;
  std::string bucket_, region_, endpoint_;
  bool path_style_ = false;
  std::optional<Millis> timeout_;
};

Json AsList(const Json& v) {
  if (v.is_null()) return Json::array();
  return v.is_array() ? v : Json::array({v});
}

ActionOutcome List(Bucket& b, const Json& in, ActionContext* ctx) {
  auto max = OptInt(in, "max_keys");
  if (!max) return InputError(max.error());
  int64_t limit = max->value_or(1000);
  Json objects = Json::array(), prefixes = Json::array();
  std::string token;
  bool truncated = false;
  for (int page = 0; page < 1000; ++page) {
    if (ctx && ctx->cancelled.load())
      return ActionOutcome::Failed(ErrorCode::kCancelled, "cancelled");
    std::map<std::string, std::string> q = {{"list-type", "2"}};
    q["max-keys"] =
        std::to_string(std::min<int64_t>(1000, limit - static_cast<int64_t>(objects.size())));
    if (!GetString(in, "prefix").empty()) q["prefix"] = GetString(in, "prefix");
    if (!GetString(in, "delimiter").empty()) q["delimiter"] = GetString(in, "delimiter");
    if (!token.empty()) q["continuation-token"] = token;
    auto got = b.Call("GET", "", q, "", "");
    if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
    auto& r = std::get<S3Response>(got);
    if (r.status != 200) return b.Failure(r, "listing bucket " + b.name());
    auto xml = ParseXml(r.body);
    if (!xml)
      return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                   "listing bucket " + b.name() + ": " + xml.error().message);
    const Json& result = (*xml)["ListBucketResult"];
    for (const auto& o : AsList(result.value("Contents", Json(nullptr)))) {
      std::string etag = GetString(o, "ETag");
      if (etag.size() >= 2 && etag.front() == '"') etag = etag.substr(1, etag.size() - 2);
      int64_t size = 0;
      try {
        size = std::stoll(GetString(o, "Size", "0"));
      } catch (...) {
      }
      objects.push_back({{"key", GetString(o, "Key")},
                         {"size", size},
                         {"last_modified", GetString(o, "LastModified")},
                         {"etag", etag}});
    }
    for (const auto& p : AsList(result.value("CommonPrefixes", Json(nullptr))))
      prefixes.push_back(GetString(p, "Prefix"));
    truncated = GetString(result, "IsTruncated") == "true";
    token = GetString(result, "NextContinuationToken");
    if (!truncated || token.empty() || static_cast<int64_t>(objects.size()) >= limit) break;
  }
  return ActionOutcome::Ok(
      Json{{"objects", objects}, {"prefixes", prefixes}, {"truncated", truncated}});
}

class ObjectAction : public Action {
 public:
  explicit ObjectAction(std::string op) : op_(std::move(op)) {}

  ActionOutcome Execute(ActionContext& ctx) override {
    if (!ctx.connection)
      return ActionOutcome::Failed(ErrorCode::kValidation, "s3." + op_ + " needs a connection");
    CallEnv env = EnvOf(ctx);
    Bucket b(*ctx.connection, env);
    const Json& in = ctx.input;
    if (op_ == "list") return List(b, in, &ctx);
    auto key = ReqString(in, "key");
    if (!key) return InputError(key.error());
    if (op_ == "get") {
      auto as = ReadAs(in, ctx.files != nullptr);
      if (!as) return InputError(as.error());
      if (*as == "file" || (*as == "auto" && ctx.files)) return GetFile(b, ctx, *key, *as);
      auto got = b.Call("GET", *key, {}, "", "");
      if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
      auto& r = std::get<S3Response>(got);
      if (r.status != 200) return b.Failure(r, "reading " + *key);
      std::string encoding = *as;
      if (encoding == "auto") encoding = ValidUtf8(r.body) ? "text" : "base64";
      if (encoding == "text" && !ValidUtf8(r.body))
        return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                     *key + " is not UTF-8 text; read it with encoding: base64");
      std::string etag = Header(r, "etag");
      if (etag.size() >= 2 && etag.front() == '"') etag = etag.substr(1, etag.size() - 2);
      return ActionOutcome::Ok(
          Json{{"key", *key},
               {"size", r.body.size()},
               {"content_type", Header(r, "content-type")},
               {"etag", etag},
               {"encoding", encoding},
               {"content", encoding == "base64" ? Base64Encode(r.body) : r.body}});
    }
    if (op_ == "put") {
      if (in.contains("file") && !in["file"].is_null()) return PutFile(b, ctx, *key);
      Json content = in.value("content", Json(nullptr));
      if (content.is_null())
        return InputError(Error(ErrorCode::kValidation, "content or file is required",
                                {{"with.content", "content or file is required"}}));
      std::string data = content.is_string() ? content.get<std::string>() : content.dump();
      if (GetString(in, "encoding", "text") == "base64") {
        auto bytes = Base64Decode(data);
        if (!bytes) return ActionOutcome::Failed(ErrorCode::kValidation, "content is not base64");
        data = std::move(*bytes);
      }
      auto got =
          b.Call("PUT", *key, {}, data, GetString(in, "content_type", "application/octet-stream"));
      if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
      auto& r = std::get<S3Response>(got);
      if (r.status != 200) return b.Failure(r, "writing " + *key);
      std::string etag = Header(r, "etag");
      if (etag.size() >= 2 && etag.front() == '"') etag = etag.substr(1, etag.size() - 2);
      return ActionOutcome::Ok(Json{{"key", *key}, {"size", data.size()}, {"etag", etag}});
    }
    auto got = b.Call("DELETE", *key, {}, "", "");
    if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
    auto& r = std::get<S3Response>(got);
    if (r.status != 204 && r.status != 200) return b.Failure(r, "deleting " + *key);
    return ActionOutcome::Ok(Json{{"key", *key}, {"deleted", true}});
  }

 private:
  static std::string Etag(const std::string& quoted) {
    if (quoted.size() >= 2 && quoted.front() == '"') return quoted.substr(1, quoted.size() - 2);
    return quoted;
  }

  // Streams the object into a new file; with `auto`, small text (by S3's
  // Content-Type) comes back as text instead.
  ActionOutcome GetFile(Bucket& b, ActionContext& ctx, const std::string& key,
                        const std::string& as) {
    ObjectWriter writer(ctx.files, BaseName(key), as == "auto");
    S3Request q;
    q.key = key;
    q.writer = &writer;
    auto got = b.Send(q);
    if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
    auto& r = std::get<S3Response>(got);
    if (r.status != 200) return b.Failure(r, "reading " + key);
    if (writer.error()) return FileFailure(*writer.error(), "reading " + key);
    Json out = {{"key", key},
                {"content_type", Header(r, "content-type")},
                {"etag", Etag(Header(r, "etag"))}};
    if (writer.as_text()) {
      out["size"] = writer.text().size();
      if (ValidUtf8(writer.text())) {
        out["encoding"] = "text";
        out["content"] = writer.text();
        return ActionOutcome::Ok(std::move(out));
      }
      // Said to be text but is not UTF-8: a file after all.
      auto file = WriteWholeFile(*ctx.files, BaseName(key), writer.content_type(), writer.text());
      if (!file) return FileFailure(file.error(), "reading " + key);
      out["file"] = file->ToJson();
      return ActionOutcome::Ok(std::move(out));
    }
    auto file = writer.sink()->Commit();
    if (!file) return FileFailure(file.error(), "reading " + key);
    ctx.log("info",
            "read " + std::to_string(file->size) + " bytes of " + key + " into " + file->id);
    out["size"] = file->size;
    out["file"] = file->ToJson();
    return ActionOutcome::Ok(std::move(out));
  }

  // Streams a file into the object: one PUT up to kPartSize, a multipart
  // upload above it.
  ActionOutcome PutFile(Bucket& b, ActionContext& ctx, const std::string& key) {
    const Json& in = ctx.input;
    auto file = FileInput(in, "file", ctx.files);
    if (!file) return InputError(file.error());
    std::string content_type = GetString(in, "content_type");
    if (Generic(content_type)) content_type = file->content_type;
    if (Generic(content_type)) content_type = GuessContentType(key);
    if (file->size > kPartSize) return PutMultipart(b, ctx, key, *file, content_type);
    S3Request q;
    q.method = "PUT";
    q.key = key;
    q.content_type = content_type;
    q.files = ctx.files;
    q.file = &*file;
    q.length = file->size;
    q.sha256 = file->sha256;
    auto got = b.Send(q);
    if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
    auto& r = std::get<S3Response>(got);
    if (r.status != 200) return b.Failure(r, "writing " + key);
    ctx.log("info", "wrote " + std::to_string(file->size) + " bytes of " + file->id + " to " + key);
    return ActionOutcome::Ok(Json{{"key", key},
                                  {"size", file->size},
                                  {"etag", Etag(Header(r, "etag"))},
                                  {"sha256", file->sha256}});
  }

  ActionOutcome PutMultipart(Bucket& b, ActionContext& ctx, const std::string& key,
                             const FileInfo& file, const std::string& content_type) {
    const std::string what = "writing " + key;
    S3Request init;
    init.method = "POST";
    init.key = key;
    init.query = {{"uploads", ""}};
    init.content_type = content_type;
    auto got = b.Send(init);
    if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
    auto& started = std::get<S3Response>(got);
    if (started.status != 200) return b.Failure(started, what + " (starting a multipart upload)");
    auto xml = ParseXml(started.body);
    std::string upload_id =
        xml ? GetString((*xml)["InitiateMultipartUploadResult"], "UploadId") : std::string();
    if (upload_id.empty())
      return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                   what + ": S3 gave no UploadId for the multipart upload");
    // Drops the parts sent so far; its own failure changes nothing for the step.
    auto abort = [&](ActionOutcome o) {
      S3Request q;
      q.method = "DELETE";
      q.key = key;
      q.query = {{"uploadId", upload_id}};
      b.Send(q);
      return o;
    };
    uint64_t parts = (file.size + kPartSize - 1) / kPartSize;
    std::string complete = "<CompleteMultipartUpload>";
    auto range_of = [&](uint64_t n) {
      uint64_t offset = (n - 1) * kPartSize;
      return std::make_pair(offset, std::min<uint64_t>(kPartSize, file.size - offset));
    };
    // Part n+1's sha256 (its signature needs it) is computed on a thread of
    // its own while part n is sent.
    Result<std::string> sha = HashRange(ctx.files, file.id, 0, range_of(1).second);
    for (uint64_t n = 1; n <= parts; ++n) {
      if (ctx.cancelled.load())
        return abort(ActionOutcome::Failed(ErrorCode::kCancelled, what + ": cancelled"));
      if (!sha) return abort(FileFailure(sha.error(), what));
      auto [offset, length] = range_of(n);
      Result<std::string> next = std::string();
      std::thread hasher;
      if (n < parts) {
        hasher = std::thread([&, n] {
          auto [o, l] = range_of(n + 1);
          next = HashRange(ctx.files, file.id, o, l);
        });
      }
      struct Join {
        std::thread& t;
        ~Join() {
          if (t.joinable()) t.join();
        }
      } join{hasher};
      S3Request q;
      q.method = "PUT";
      q.key = key;
      q.query = {{"partNumber", std::to_string(n)}, {"uploadId", upload_id}};
      q.files = ctx.files;
      q.file = &file;
      q.offset = offset;
      q.length = length;
      q.sha256 = *sha;
      auto part = b.Send(q);
      if (auto* o = std::get_if<ActionOutcome>(&part)) return abort(std::move(*o));
      auto& r = std::get<S3Response>(part);
      if (r.status != 200) return abort(b.Failure(r, what + " (part " + std::to_string(n) + ")"));
      complete += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" +
                  Header(r, "etag") + "</ETag></Part>";
      ctx.log("info", "uploaded part " + std::to_string(n) + " of " + std::to_string(parts) + " (" +
                          std::to_string(length) + " bytes) of " + key);
      if (hasher.joinable()) hasher.join();
      sha = std::move(next);
    }
    complete += "</CompleteMultipartUpload>";
    S3Request done;
    done.method = "POST";
    done.key = key;
    done.query = {{"uploadId", upload_id}};
    done.payload = complete;
    done.content_type = "application/xml";
    auto fin = b.Send(done);
    if (auto* o = std::get_if<ActionOutcome>(&fin)) return abort(std::move(*o));
    auto& r = std::get<S3Response>(fin);
    // S3 may answer 200 with an <Error> body when completing fails late.
    auto result = ParseXml(r.body);
    if (r.status != 200 || !result || (*result)["Error"].is_object())
      return abort(b.Failure(r, what + " (completing the multipart upload)"));
    std::string etag = GetString((*result)["CompleteMultipartUploadResult"], "ETag");
    return ActionOutcome::Ok(Json{{"key", key},
                                  {"size", file.size},
                                  {"etag", Etag(etag)},
                                  {"sha256", file.sha256},
                                  {"parts", parts}});
  }

  std::string op_;
};

ConnectionTestResult TestS3(const Connection& c, Clock& clock) {
  std::atomic<bool> cancelled{false};
  CallEnv env{clock, clock.Now() + Millis(15'000), cancelled};
  Bucket b(c, env);
  // A prefix nothing uses: one small page, never truncated.
  auto r = List(b, Json{{"max_keys", 1}, {"prefix", "weft-connection-test/"}}, nullptr);
  if (r.error) return {false, r.error->message};
  return {true, "listed bucket " + b.name()};
}

// ---- the new_objects poll source (docs/polling.md) ----------------------------------

class NewObjectsSource : public PollSource {
 public:
  bool HasAfter(const Json& with) const override {
    std::string after = GetString(with, "after", "keep");
    return after == "delete" || after == "move";
  }

  Result<PollResult> Poll(PollContext& ctx) override {
    if (!ctx.connection) return Fail(ErrorCode::kValidation, "s3.new_objects needs a connection");
    auto opts = Options(ctx.with);
    if (!opts) return Fail(opts.error());
    CallEnv env{ctx.clock, ctx.deadline, ctx.cancelled};
    Bucket b(*ctx.connection, env);

    // 1. List (every page: at most a million objects).
    Json in = {{"prefix", opts->prefix}, {"max_keys", 1'000'000}};
    if (!opts->recursive) in["delimiter"] = "/";
    ActionOutcome listed = List(b, in, nullptr);
    if (listed.error) return Fail(*listed.error);
    std::vector<Json> objects;
    for (auto& o : listed.output["objects"]) {
      const std::string key = o["key"].get<std::string>();
      if (key.empty() || key.back() == '/') continue;                          // a "folder" marker
      if (!opts->move_to.empty() && key.starts_with(opts->move_to)) continue;  // moved ones
      std::string name = key.substr(key.rfind('/') + 1);
      if (!MatchGlob(opts->pattern, name)) continue;
      o["name"] = name;
      objects.push_back(std::move(o));
    }

    // 2. Which were emitted before: key + ETag + size, before any download.
    std::vector<std::string> keys;
    keys.reserve(objects.size());
    for (const auto& o : objects)
      keys.push_back(o["key"].get<std::string>() + "|" + o["etag"].get<std::string>() + "|" +
                     std::to_string(o["size"].get<int64_t>()));
    std::vector<bool> seen(keys.size(), false);
    if (ctx.seen) {
      auto r = ctx.seen(keys);
      if (!r) return Fail(r.error());
      seen = std::move(*r);
    }

    // 3. New objects, once stable: the same ETag and size for stable_for.
    PollResult out;
    const int64_t now_ms = ToUnixMs(ctx.clock.Now());
    const Json old_pending =
        ctx.cursor.is_object() ? ctx.cursor.value("pending", Json::object()) : Json::object();
    Json pending = Json::object();
    std::vector<size_t> picked;
    for (size_t i = 0; i < objects.size(); ++i) {
      if (seen[i]) {
        out.known.push_back(keys[i]);
        continue;
      }
      if (opts->stable_for.count() > 0) {
        const std::string& key = objects[i]["key"].get_ref<const std::string&>();
        auto was = old_pending.find(key);
        bool same = was != old_pending.end() && was->is_object() &&
                    was->value("etag", Json()) == objects[i]["etag"] &&
                    was->value("size", Json()) == objects[i]["size"];
        int64_t since = same ? was->value("since", now_ms) : now_ms;
        if (!same || now_ms - since < opts->stable_for.count()) {
          pending[key] = {
              {"etag", objects[i]["etag"]}, {"size", objects[i]["size"]}, {"since", since}};
          continue;
        }
      }
      if (picked.size() >= ctx.max_items) {
        out.more = true;
        continue;
      }
      picked.push_back(i);
    }
    if (opts->stable_for.count() > 0 || !old_pending.empty())
      out.cursor = Json{{"pending", pending}};

    // 4. Download (a real poll only); an object replaced since it was listed
    // (another ETag) is left for the next poll, where it has another key.
    for (size_t i : picked) {
      Json item = objects[i];
      if (opts->download && ctx.files && !ctx.dry_run) {
        const std::string key = item["key"].get<std::string>();
        ObjectWriter writer(ctx.files, item["name"].get<std::string>(), false);
        S3Request q;
        q.key = key;
        q.writer = &writer;
        auto got = b.Send(q);
        if (auto* o = std::get_if<ActionOutcome>(&got)) return Fail(*o->error);
        auto& r = std::get<S3Response>(got);
        if (r.status == 404) {
          if (ctx.log) ctx.log("info", key + " went away before it was read");
          continue;
        }
        if (r.status != 200) return Fail(*b.Failure(r, "reading " + key).error);
        if (writer.error()) return Fail(*writer.error());
        std::string etag = Header(r, "etag");
        if (etag.size() >= 2 && etag.front() == '"') etag = etag.substr(1, etag.size() - 2);
        if (etag != item["etag"].get<std::string>()) {
          if (ctx.log) ctx.log("info", key + " changed while it was read; next poll");
          continue;
        }
        auto file = writer.sink()->Commit();
        if (!file) return Fail(file.error());
        item["file"] = file->ToJson();
      }
      out.items.push_back({keys[i], std::move(item)});
    }
    return out;
  }

  // after: delete, or move (a copy under move_to, then a delete: S3 has no
  // rename). Idempotent: a source already gone (404) was moved or deleted.
  Result<void> AfterCommit(PollContext& ctx, const std::vector<PollItem>& items) override {
    if (!ctx.connection || items.empty()) return Ok();
    auto opts = Options(ctx.with);
    if (!opts) return Fail(opts.error());
    if (opts->after != "delete" && opts->after != "move") return Ok();
    CallEnv env{ctx.clock, ctx.deadline, ctx.cancelled};
    Bucket b(*ctx.connection, env);
    for (const auto& item : items) {
      const std::string key = GetString(item.item, "key");
      if (key.empty()) continue;
      if (opts->after == "move") {
        std::string rest = key.starts_with(opts->prefix) ? key.substr(opts->prefix.size()) : key;
        S3Request copy;
        copy.method = "PUT";
        copy.key = opts->move_to + rest;
        copy.amz_headers = {{"x-amz-copy-source", "/" + b.name() + "/" + UrlEncodePath(key)}};
        auto copied = b.Send(copy);
        if (auto* o = std::get_if<ActionOutcome>(&copied)) return Fail(*o->error);
        auto& r = std::get<S3Response>(copied);
        if (r.status == 404) continue;  // moved before (a crash between the copy and the delete)
        // S3 may answer a copy 200 with an <Error> body.
        if (r.status != 200 || r.body.find("<Error>") != std::string::npos)
          return Fail(*b.Failure(r, "copying " + key + " to " + copy.key).error);
      }
      auto got = b.Call("DELETE", key, {}, "", "");
      if (auto* o = std::get_if<ActionOutcome>(&got)) return Fail(*o->error);
      auto& r = std::get<S3Response>(got);
      if (r.status != 204 && r.status != 200 && r.status != 404)
        return Fail(*b.Failure(r, "deleting " + key).error);
    }
    return Ok();
  }

 private:
  struct Opts {
    std::string prefix, pattern = "*", after = "keep", move_to;
    bool recursive = true, download = true;
    Millis stable_for{0};
  };

  static Result<Opts> Options(const Json& with) {
    Opts o;
    if (auto p = OptString(with, "prefix"); !p)
      return Fail(p.error());
    else
      o.prefix = p->value_or("");
    if (auto p = OptString(with, "pattern"); !p)
      return Fail(p.error());
    else if (*p && !(*p)->empty())
      o.pattern = **p;
    if (o.pattern.size() > 1000)
      return Fail(ErrorCode::kValidation, "pattern is longer than 1000 characters",
                  {{"with.pattern", "is longer than 1000 characters"}});
    if (auto r = OptBool(with, "recursive"); !r)
      return Fail(r.error());
    else
      o.recursive = r->value_or(true);
    if (auto d = OptBool(with, "download"); !d)
      return Fail(d.error());
    else
      o.download = d->value_or(true);
    if (auto st = OptDuration(with, "stable_for"); !st)
      return Fail(st.error());
    else
      o.stable_for = st->value_or(Millis(0));
    o.after = GetString(with, "after", "keep");
    if (o.after != "keep" && o.after != "delete" && o.after != "move")
      return Fail(ErrorCode::kValidation, "after must be keep, delete or move",
                  {{"with.after", "must be keep, delete or move"}});
    o.move_to = GetString(with, "move_to");
    if (!o.move_to.empty() && o.move_to.back() != '/') o.move_to += '/';
    if (o.after == "move" && o.move_to.empty())
      return Fail(ErrorCode::kValidation, "move_to is required for after: move",
                  {{"with.move_to", "is required for after: move"}});
    if (o.after == "move" && o.move_to == o.prefix)
      return Fail(ErrorCode::kValidation, "move_to must differ from the prefix",
                  {{"with.move_to", "must differ from the prefix"}});
    return o;
  }
};

PollSpec NewObjectsSpec() {
  return {
      "new_objects",
      "New objects",
      "An object that appears under a prefix, or is replaced (by key, ETag and size).",
      {Field("prefix", "Prefix", "string", false, "e.g. inbound/ (default: the whole bucket)"),
       Field("pattern", "Pattern", "string", false,
             "A glob on the name after the last /: *.csv, report-??.xml. Default: every object."),
       Field("recursive", "Below the prefix's folders too", "boolean", false,
             "Off: only the objects directly under the prefix (delimiter /).", true),
       Field("stable_for", "Stable for", "duration", false,
             "Pick an object only once its ETag and size have not changed for this long."),
       Field("download", "Download", "boolean", false,
             "Put the content into trigger.item.file (a file value); off: metadata only.", true),
       Field("after", "After the run is recorded", "enum", false,
             "What happens to the object once its run is committed.", "keep",
             {"keep", "delete", "move"}),
       Field("move_to", "Move to", "string", false,
             "The prefix after: move copies objects to (then deletes them), e.g. done/; the key "
             "below the watched prefix is kept.")},
      "{key, name, size, last_modified, etag, file}"};
}
}  // namespace

void RegisterS3(ActionCatalog& catalog) {
  std::map<std::string, std::shared_ptr<Action>> actions;
  for (const char* op : {"list", "get", "put", "delete"})
    actions[op] = std::make_shared<ObjectAction>(op);
  catalog.Register(Spec(), std::move(actions), &TestS3);
  catalog.RegisterPollSource("s3", NewObjectsSpec(), std::make_shared<NewObjectsSource>());
}

}  // namespace weft::connectors
