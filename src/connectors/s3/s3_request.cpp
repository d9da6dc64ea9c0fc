#include "connectors/s3/s3_request.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>

#include "common/url.h"
#include "connectors/common/curl.h"  // UrlEncodePath
#include "connectors/common/redact.h"
#include "connectors/common/spec.h"
#include "connectors/data/data.h"

namespace weft::connectors {
namespace {

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

std::string HexOf(const unsigned char* d, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[d[i] >> 4];
    out += kHex[d[i] & 15];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return HexOf(md, len);
}

S3Target S3Url(const std::string& endpoint, const std::string& bucket, bool path_style,
               const std::string& key, const std::map<std::string, std::string>& query) {
  size_t scheme_end = endpoint.find("://");
  std::string scheme = scheme_end == std::string::npos ? "https" : endpoint.substr(0, scheme_end);
  std::string host = scheme_end == std::string::npos ? endpoint : endpoint.substr(scheme_end + 3);
  std::string base_path;
  if (size_t slash = host.find('/'); slash != std::string::npos) {
    base_path = host.substr(slash);
    host = host.substr(0, slash);
  }
  while (!base_path.empty() && base_path.back() == '/') base_path.pop_back();
  S3Target t;
  t.path = base_path;
  if (path_style) {
    t.path += "/" + UrlEncode(bucket);
  } else {
    host = bucket + "." + host;
  }
  t.path += "/" + UrlEncodePath(key);
  std::string query_text;
  for (const auto& [k, v] : query)
    query_text += (query_text.empty() ? "?" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
  t.host = host;
  t.url = scheme + "://" + host + t.path + query_text;
  return t;
}

std::map<std::string, std::string> SignV4(const SigV4Request& r) {
  std::time_t secs = static_cast<std::time_t>(ToUnixMs(r.now) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char amz_date[20], date[10];
  std::strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
  std::strftime(date, sizeof date, "%Y%m%d", &tm);
  std::string payload_hash = r.payload_sha256.empty() ? Sha256Hex(r.payload) : r.payload_sha256;

  std::map<std::string, std::string> signed_headers = {
      {"host", r.host}, {"x-amz-content-sha256", payload_hash}, {"x-amz-date", amz_date}};
  if (!r.session_token.empty()) signed_headers["x-amz-security-token"] = r.session_token;
  for (const auto& [k, v] : r.amz_headers) signed_headers[k] = v;
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
      HexOf(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
  return out;
}

std::string S3ErrorDetail(const std::string& body) {
  if (auto xml = ParseXml(body); xml && (*xml)["Error"].is_object()) {
    const Json& e = (*xml)["Error"];
    return GetString(e, "Code") + ": " + GetString(e, "Message");
  }
  return body.empty() ? std::string() : Excerpt(body, 200);
}

}  // namespace weft::connectors
