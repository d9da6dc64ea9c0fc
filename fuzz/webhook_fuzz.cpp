// libFuzzer harness: a webhook request as the receiver sees it, checked
// against each authentication scheme and its body parsed by content type.
// The input is "<content type>\n<header lines>\n\n<body>"; a header line is
// "name: value".
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/hooks/receiver.h"
#include "server/hooks/webhook_auth.h"

namespace {

const std::vector<weft::Json>& AuthConfigs() {
  static const std::vector<weft::Json> configs = {
      weft::Json(nullptr),
      weft::Json::parse(R"({"type": "none"})"),
      weft::Json::parse(R"({"type": "header", "name": "X-Token", "value": "s3cret"})"),
      weft::Json::parse(R"({"type": "basic", "username": "u", "password": "p"})"),
      weft::Json::parse(
          R"({"type": "hmac", "scheme": "standard-webhooks", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})"),
      weft::Json::parse(
          R"({"type": "hmac", "scheme": "github", "secret": "It's a Secret to Everybody"})"),
      weft::Json::parse(R"({"type": "hmac", "scheme": "custom", "secret": "k", "header": "X-Sig",
                            "algorithm": "sha256", "encoding": "hex", "prefix": "sha256="})"),
      weft::Json::parse(R"({"type": "hmac", "scheme": "custom", "secret": "k", "header": "X-Sig",
                            "algorithm": "sha1", "encoding": "base64"})"),
      weft::Json::parse(R"({"type": "hmac", "scheme": "nonsense"})"),
      weft::Json::parse(R"({"type": 7})"),
  };
  return configs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t eol = in.find('\n');
  std::string content_type(in.substr(0, eol));
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1);
  weft::server::HttpRequest req;
  req.method = "POST";
  req.path = "/hooks/t";
  req.target = "/hooks/t";
  req.headers.emplace_back("content-type", content_type);
  size_t blank = rest.find("\n\n");
  std::string_view head =
      blank == std::string_view::npos ? std::string_view() : rest.substr(0, blank);
  req.body = std::string(blank == std::string_view::npos ? rest : rest.substr(blank + 2));
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      req.headers.emplace_back(name, std::string(value));
    }
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
  }
  const auto now = weft::FromUnixMs(1'780'000'000'000);
  for (const weft::Json& auth : AuthConfigs()) {
    (void)weft::server::hooks::VerifyWebhookAuth(auth, req, now);
    (void)weft::server::hooks::SecretHeaderName(auth);
  }
  if (auto body = weft::server::hooks::ParseWebhookBody(content_type, req.body)) (void)body->dump();
  return 0;
}
