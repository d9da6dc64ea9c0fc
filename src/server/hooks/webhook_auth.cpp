#include "server/hooks/webhook_auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include <chrono>
#include <cstdlib>

namespace weft::server::hooks {
namespace {

constexpr int64_t kToleranceSeconds = 5 * 60;

Error Unauthorized(std::string message) {
  return Error(ErrorCode::kUnauthorized, std::move(message));
}

bool SameBytes(std::string_view a, std::string_view b) {
  // The length of a signature is no secret; its bytes are.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<void> VerifyStandardWebhooks(const Json& auth, const HttpRequest& req, TimePoint now) {
  // Senders built on Svix sign the same way under svix-* header names.
  const std::string* id = req.Header("webhook-id");
  const std::string* ts = req.Header("webhook-timestamp");
  const std::string* sig = req.Header("webhook-signature");
  if (!id && !ts && !sig) {
    id = req.Header("svix-id");
    ts = req.Header("svix-timestamp");
    sig = req.Header("svix-signature");
  }
  if (!id || !ts || !sig)
    return Fail(
        Unauthorized("webhook-id, webhook-timestamp and webhook-signature (or svix-id, "
                     "svix-timestamp and svix-signature) are "
                     "required"));
  char* end = nullptr;
  long long seconds = std::strtoll(ts->c_str(), &end, 10);
  if (ts->empty() || *end != '\0')
    return Fail(Unauthorized("webhook-timestamp is not a number of seconds"));
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (seconds < now_s - kToleranceSeconds || seconds > now_s + kToleranceSeconds)
    return Fail(Unauthorized("webhook-timestamp is more than 5 minutes from now"));
  // "id.timestamp.body", signed piece by piece: the body may be a spooled upload.
  std::string expected =
      HmacRaw("sha256", StandardWebhooksKey(Str(auth, "secret")), {*id, ".", *ts, ".", req.Body()});
  // Space-separated "v1,<base64>" entries: any one may match (secret rotation).
  std::string_view rest = *sig;
  while (!rest.empty()) {
    size_t sp = rest.find(' ');
    std::string_view entry = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    if (!entry.starts_with("v1,")) continue;
    auto raw = Base64DecodeAny(entry.substr(3));
    if (raw && SameBytes(*raw, expected)) return Ok();
  }
  return Fail(Unauthorized("webhook-signature does not match"));
}

Result<void> VerifySignatureHeader(const HttpRequest& req, const std::string& header,
                                   const std::string& algorithm, const std::string& encoding,
                                   const std::string& prefix, const std::string& secret) {
  const std::string* got = req.Header(Lower(header));
  if (!got) return Fail(Unauthorized(header + " is required"));
  std::string_view value = Trim(*got);
  if (!value.starts_with(prefix)) return Fail(Unauthorized(header + " does not match"));
  value.remove_prefix(prefix.size());
  std::string expected = HmacRaw(algorithm, secret, {req.Body()});
  if (expected.empty()) return Fail(Unauthorized("unknown signature algorithm"));
  if (encoding == "base64") {
    auto raw = Base64DecodeAny(value);
    if (raw && SameBytes(*raw, expected)) return Ok();
  } else {
    // Hex digests compare case-insensitively.
    if (SameBytes(Lower(std::string(value)), HexEncode(expected))) return Ok();
  }
  return Fail(Unauthorized(header + " does not match"));
}

}  // namespace

std::string HmacRaw(std::string_view algorithm, std::string_view key,
                    std::initializer_list<std::string_view> parts) {
  const char* digest = algorithm == "sha256"   ? "SHA256"
                       : algorithm == "sha1"   ? "SHA1"
                       : algorithm == "sha512" ? "SHA512"
                                               : nullptr;
  if (!digest) return "";
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(digest), 0),
                         OSSL_PARAM_construct_end()};
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  bool ok = ctx && EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                                params) == 1;
  for (std::string_view part : parts)
    ok = ok &&
         EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size()) == 1;
  ok = ok && EVP_MAC_final(ctx, out, &len, sizeof out) == 1;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  return ok ? std::string(reinterpret_cast<char*>(out), len) : std::string();
}

std::string HexEncode(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string StandardWebhooksKey(std::string_view secret) {
  if (!secret.starts_with("whsec_")) return std::string(secret);
  auto key = Base64DecodeAny(secret.substr(6));
  return key ? *key : std::string(secret);
}

std::string SecretHeaderName(const Json& auth) {
  if (!auth.is_object() || Str(auth, "type") != "header") return "";
  return Lower(Str(auth, "name"));
}

Result<void> VerifyWebhookAuth(const Json& auth, const HttpRequest& req, TimePoint now) {
  if (!auth.is_object()) return Ok();
  std::string type = Str(auth, "type");
  if (type.empty() || type == "none") return Ok();
  if (type == "header") {
    std::string name = Lower(Str(auth, "name"));
    const std::string* got = req.Header(name);
    if (!got) return Fail(Unauthorized("header " + name + " is required"));
    if (!SameBytes(*got, Str(auth, "value")))
      return Fail(Unauthorized("header " + name + " does not match"));
    return Ok();
  }
  if (type == "basic") {
    const std::string* got = req.Header("authorization");
    if (!got || got->size() < 6 || Lower(got->substr(0, 6)) != "basic ")
      return Fail(Unauthorized("basic credentials are required"));
    auto decoded = Base64DecodeAny(Trim(std::string_view(*got).substr(6)));
    if (!decoded) return Fail(Unauthorized("basic credentials are malformed"));
    std::string expected = Str(auth, "username") + ":" + Str(auth, "password");
    if (!SameBytes(*decoded, expected)) return Fail(Unauthorized("basic credentials do not match"));
    return Ok();
  }
  if (type == "hmac") {
    std::string scheme = Str(auth, "scheme");
    if (scheme.empty() || scheme == "standard-webhooks")
      return VerifyStandardWebhooks(auth, req, now);
    if (scheme == "github")
      return VerifySignatureHeader(req, "X-Hub-Signature-256", "sha256", "hex",
                                   "sha256=", Str(auth, "secret"));
    if (scheme == "custom") {
      std::string algorithm = Str(auth, "algorithm");
      std::string encoding = Str(auth, "encoding");
      return VerifySignatureHeader(
          req, Str(auth, "header"), algorithm.empty() ? "sha256" : algorithm,
          encoding.empty() ? "hex" : encoding, Str(auth, "prefix"), Str(auth, "secret"));
    }
  }
  // Validation at save time keeps unknown types out; refuse rather than let through.
  return Fail(Unauthorized("unsupported webhook auth"));
}

}  // namespace weft::server::hooks
