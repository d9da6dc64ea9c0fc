#include "connectors/s3/s3.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <ctime>

#include "connectors/common/curl.h"
#include "connectors/common/redact.h"
#include "connectors/common/spec.h"
#include "connectors/data/data.h"

namespace weft::connectors {
namespace {

std::string Hex(const unsigned char* d, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[d[i] >> 4];
    out += kHex[d[i] & 15];
  }
  return out;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string Base64(const std::string& d) {
  std::string out(sodium_base64_encoded_len(d.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(d.data()),
                    d.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

std::optional<std::string> FromBase64(const std::string& text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), " \r\n\t", &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (extra < 0 || i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += extra + 1;
  }
  return true;
}

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
       "Reads an object's content.",
       {Field("key", "Key", "string", true, ""),
        Field("encoding", "Encoding", "enum", false,
              "auto gives text for UTF-8 content, base64 otherwise.", "auto",
              {"auto", "text", "base64"})},
       "{key, size, content_type, etag, encoding, content}",
       {}},
      {"put",
       "Upload an object",
       "Writes an object, replacing it when it exists.",
       {Field("key", "Key", "string", true, ""),
        Field("content", "Content", "any", true, "Text, or base64 (see encoding)."),
        Field("encoding", "Encoding", "enum", false, "", "text", {"text", "base64"}),
        Field("content_type", "Content type", "string", false, "", "application/octet-stream")},
       "{key, size, etag}",
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
    size_t scheme_end = endpoint_.find("://");
    std::string scheme =
        scheme_end == std::string::npos ? "https" : endpoint_.substr(0, scheme_end);
    std::string host =
        scheme_end == std::string::npos ? endpoint_ : endpoint_.substr(scheme_end + 3);
    std::string base_path;
    if (size_t slash = host.find('/'); slash != std::string::npos) {
      base_path = host.substr(slash);
      host = host.substr(0, slash);
    }
    std::string path = base_path;
    if (path_style_) {
      path += "/" + UrlEncode(bucket_);
    } else {
      host = bucket_ + "." + host;
    }
    path += "/" + UrlEncodePath(key);
    std::string query_text;
    for (const auto& [k, v] : query)
      query_text += (query_text.empty() ? "?" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
    std::string url = scheme + "://" + host + path + query_text;

    SigV4Request sig{method,
                     host,
                     path,
                     query,
                     payload,
                     region_,
                     GetString(c_.auth, "access_key_id"),
                     GetString(c_.auth, "secret_access_key"),
                     GetString(c_.auth, "session_token"),
                     env_.clock.Now()};
    Transfer t(env_, true, timeout_);
    CURL* h = t.handle();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    HeaderList headers;
    for (const auto& [k, v] : SignV4(sig)) headers.Add(k + ": " + v);
    if (!content_type.empty()) headers.Add("Content-Type: " + content_type);
    headers.Add("Expect:");
    std::string upload = payload;
    if (method == "PUT") {
      t.Upload(&upload);
    } else if (method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    S3Response r;
    t.CaptureBody(&r.body);
    t.CaptureHeaders(&r.headers);
    CURLcode rc = t.Perform();
    if (rc != CURLE_OK) {
      ActionOutcome o = t.Failure(rc, method + " " + url);
      o.error->message = redact_(o.error->message);
      return o;
    }
    r.status = t.Status();
    return r;
  }

  // The failure for a non-2xx answer, with S3's error code and message.
  ActionOutcome Failure(const S3Response& r, const std::string& what) const {
    std::string detail;
    if (auto xml = ParseXml(r.body); xml && (*xml)["Error"].is_object()) {
      const Json& e = (*xml)["Error"];
      detail = GetString(e, "Code") + ": " + GetString(e, "Message");
    } else if (!r.body.empty()) {
      detail = Excerpt(r.body, 200);
    }
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
      auto got = b.Call("GET", *key, {}, "", "");
      if (auto* o = std::get_if<ActionOutcome>(&got)) return std::move(*o);
      auto& r = std::get<S3Response>(got);
      if (r.status != 200) return b.Failure(r, "reading " + *key);
      std::string encoding = GetString(in, "encoding", "auto");
      if (encoding == "auto") encoding = ValidUtf8(r.body) ? "text" : "base64";
      if (encoding == "text" && !ValidUtf8(r.body))
        return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                     *key + " is not UTF-8 text; read it with encoding: base64");
      std::string etag = Header(r, "etag");
      if (etag.size() >= 2 && etag.front() == '"') etag = etag.substr(1, etag.size() - 2);
      return ActionOutcome::Ok(Json{{"key", *key},
                                    {"size", r.body.size()},
                                    {"content_type", Header(r, "content-type")},
                                    {"etag", etag},
                                    {"encoding", encoding},
                                    {"content", encoding == "base64" ? Base64(r.body) : r.body}});
    }
    if (op_ == "put") {
      Json content = in.value("content", Json(nullptr));
      if (content.is_null())
        return InputError(Error(ErrorCode::kValidation, "content is required",
                                {{"with.content", "is required"}}));
      std::string data = content.is_string() ? content.get<std::string>() : content.dump();
      if (GetString(in, "encoding", "text") == "base64") {
        auto bytes = FromBase64(data);
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

}  // namespace

std::map<std::string, std::string> SignV4(const SigV4Request& r) {
  std::time_t secs = static_cast<std::time_t>(ToUnixMs(r.now) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char amz_date[20], date[10];
  std::strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
  std::strftime(date, sizeof date, "%Y%m%d", &tm);
  std::string payload_hash = Sha256Hex(r.payload);

  std::map<std::string, std::string> signed_headers = {
      {"host", r.host}, {"x-amz-content-sha256", payload_hash}, {"x-amz-date", amz_date}};
  if (!r.session_token.empty()) signed_headers["x-amz-security-token"] = r.session_token;
  std::string canonical_query;
  for (const auto& [k, v] : r.query)  // std::map: sorted by name
    canonical_query += (canonical_query.empty() ? "" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
  std::string canonical_headers, names;
  for (const auto& [k, v] : signed_headers) {
    canonical_headers += k + ":" + v + "\n";
    names += (names.empty() ? "" : ";") + k;
  }
  std::string canonical = r.method + "\n" + (r.path.empty() ? "/" : r.path) + "\n" +
                          canonical_query + "\n" + canonical_headers + "\n" + names + "\n" +
                          payload_hash;
  std::string scope = std::string(date) + "/" + r.region + "/s3/aws4_request";
  std::string to_sign =
      "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" + Sha256Hex(canonical);
  std::string key =
      Hmac(Hmac(Hmac(Hmac("AWS4" + r.secret_access_key, date), r.region), "s3"), "aws4_request");
  std::string signature = Hmac(key, to_sign);

  std::map<std::string, std::string> out = signed_headers;
  out.erase("host");  // libcurl sends Host itself, with the same value
  out["Authorization"] =
      "AWS4-HMAC-SHA256 Credential=" + r.access_key_id + "/" + scope + ", SignedHeaders=" + names +
      ", Signature=" +
      Hex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
  return out;
}

void RegisterS3(ActionCatalog& catalog) {
  std::map<std::string, std::shared_ptr<Action>> actions;
  for (const char* op : {"list", "get", "put", "delete"})
    actions[op] = std::make_shared<ObjectAction>(op);
  catalog.Register(Spec(), std::move(actions), &TestS3);
}

}  // namespace weft::connectors
