#include "server/hooks/webhook_auth.h"

#include <gtest/gtest.h>

#include "server/hooks/receiver.h"

namespace weft::server::hooks {
namespace {

const TimePoint kNow = FromUnixMs(1'800'000'000'000);

HttpRequest Request(std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = "POST";
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

HttpRequest StandardSigned(const std::string& secret, const std::string& body, int64_t ts) {
  std::string id = "msg_1";
  std::string sig = Base64Encode(
      HmacRaw("sha256", StandardWebhooksKey(secret), id + "." + std::to_string(ts) + "." + body));
  return Request(body, {{"webhook-id", id},
                        {"webhook-timestamp", std::to_string(ts)},
                        {"webhook-signature", "v1," + sig}});
}

TEST(WebhookAuth, StandardWebhooksAcceptsRotationAndRejectsStaleOrTampered) {
  std::string secret = "whsec_" + Base64Encode("0123456789abcdef0123456789abcdef");
  Json auth{{"type", "hmac"}, {"scheme", "standard-webhooks"}, {"secret", secret}};
  int64_t now_s = 1'800'000'000;
  EXPECT_TRUE(VerifyWebhookAuth(auth, StandardSigned(secret, R"({"a":1})", now_s), kNow));
  auto rotated = StandardSigned(secret, R"({"a":1})", now_s);
  rotated.headers[2].second = "v1,AAAA v1," + rotated.headers[2].second.substr(3);
  EXPECT_TRUE(VerifyWebhookAuth(auth, rotated, kNow)) << "any of several signatures may match";
  EXPECT_FALSE(VerifyWebhookAuth(auth, StandardSigned(secret, R"({"a":1})", now_s - 301), kNow));
  auto tampered = StandardSigned(secret, R"({"a":1})", now_s);
  tampered.body = R"({"a":2})";
  EXPECT_EQ(VerifyWebhookAuth(auth, tampered, kNow).error().code, ErrorCode::kUnauthorized);
  EXPECT_FALSE(VerifyWebhookAuth(
      auth, StandardSigned("whsec_" + Base64Encode("other"), R"({"a":1})", now_s), kNow));
}

// RFC 4231, test case 2, whole and in pieces (a spooled body is signed so).
TEST(WebhookAuth, HmacMatchesTheRfcVectors) {
  const std::string want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  EXPECT_EQ(HexEncode(HmacRaw("sha256", "Jefe", "what do ya want for nothing?")), want);
  EXPECT_EQ(HexEncode(HmacRaw("sha256", "Jefe", {"what do ya", " want ", "", "for nothing?"})),
            want);
  EXPECT_EQ(HexEncode(HmacRaw("sha1", "Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(HmacRaw("md5", "Jefe", "x"), "");
}

TEST(WebhookAuth, GithubAndCustom) {
  Json gh{{"type", "hmac"}, {"scheme", "github"}, {"secret", "s3cret"}};
  std::string body = "payload";
  std::string sig = "sha256=" + HexEncode(HmacRaw("sha256", "s3cret", body));
  EXPECT_TRUE(VerifyWebhookAuth(gh, Request(body, {{"x-hub-signature-256", sig}}), kNow));
  EXPECT_FALSE(VerifyWebhookAuth(gh, Request(body + "x", {{"x-hub-signature-256", sig}}), kNow));
  EXPECT_FALSE(VerifyWebhookAuth(gh, Request(body, {}), kNow));

  Json custom{{"type", "hmac"},    {"scheme", "custom"},    {"secret", "k"},
              {"header", "X-Sig"}, {"algorithm", "sha512"}, {"encoding", "base64"},
              {"prefix", "v0="}};
  std::string csig = "v0=" + Base64Encode(HmacRaw("sha512", "k", body));
  EXPECT_TRUE(VerifyWebhookAuth(custom, Request(body, {{"x-sig", csig}}), kNow));
  EXPECT_FALSE(VerifyWebhookAuth(custom, Request(body, {{"x-sig", csig.substr(3)}}), kNow));
}

TEST(WebhookAuth, HeaderAndBasic) {
  Json header{{"type", "header"}, {"name", "X-Token"}, {"value", "abc"}};
  EXPECT_TRUE(VerifyWebhookAuth(header, Request("", {{"x-token", "abc"}}), kNow));
  EXPECT_FALSE(VerifyWebhookAuth(header, Request("", {{"x-token", "abd"}}), kNow));
  EXPECT_EQ(SecretHeaderName(header), "x-token");
  Json basic{{"type", "basic"}, {"username", "u"}, {"password", "p"}};
  EXPECT_TRUE(VerifyWebhookAuth(
      basic, Request("", {{"authorization", "Basic " + Base64Encode("u:p")}}), kNow));
  EXPECT_FALSE(VerifyWebhookAuth(
      basic, Request("", {{"authorization", "Basic " + Base64Encode("u:q")}}), kNow));
  EXPECT_TRUE(VerifyWebhookAuth(Json(nullptr), Request("", {}), kNow));
}

TEST(WebhookBody, ContentTypes) {
  EXPECT_EQ(*ParseWebhookBody("application/json; charset=utf-8", R"({"a":[1]})"),
            (Json{{"a", {1}}}));
  auto bad = ParseWebhookBody("application/json", "{oops");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("parse error"), std::string::npos);
  EXPECT_EQ(*ParseWebhookBody("application/x-www-form-urlencoded", "a=1&b=x+y&a=2"),
            (Json{{"a", {"1", "2"}}, {"b", "x y"}}));
  EXPECT_EQ(*ParseWebhookBody("text/plain", "hi"), Json("hi"));
  EXPECT_EQ(*ParseWebhookBody("application/octet-stream", std::string("\x00\xff", 2)),
            Json("AP8="));
  EXPECT_TRUE(ParseWebhookBody("", "")->is_null());
}

TEST(WebhookBody, ANumberNoDoubleHoldsIsKeptAsItsDigits) {
  // Valid JSON by its grammar; the parser refused 1e99999 with an exception
  // that answered 500 and lost the delivery.
  auto body = ParseWebhookBody(
      "application/json",
      R"({"amount": 1e99999, "neg": [-2E+400, 1.5], "s": "1e99999 \" 7", "n": 12})");
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ((*body)["amount"], "1e99999");
  EXPECT_EQ((*body)["neg"][0], "-2E+400");
  EXPECT_EQ((*body)["neg"][1], 1.5);
  EXPECT_EQ((*body)["s"], "1e99999 \" 7");
  EXPECT_EQ((*body)["n"], 12);
  auto huge_int = ParseWebhookBody("application/json", "[" + std::string(400, '9') + "]");
  ASSERT_TRUE(huge_int) << huge_int.error().message;
  EXPECT_EQ((*huge_int)[0], std::string(400, '9'));
}

TEST(WebhookBody, ABodyNestedTooDeepIsABadRequestNotACrash) {
  // 200,000 nested brackets in a webhook body killed the server (a copy of
  // the value recursed once per level and overflowed the stack).
  auto deep =
      ParseWebhookBody("application/json", std::string(200'000, '[') + std::string(200'000, ']'));
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(deep.error().message.find("512 levels"), std::string::npos) << deep.error().message;
  auto fine = ParseWebhookBody("application/json", std::string(512, '[') + std::string(512, ']'));
  ASSERT_TRUE(fine) << fine.error().message;
}

TEST(WebhookBody, InvalidJsonIsABadRequest) {
  for (const char* text : {"{\"a\": 1e99999", "{\"a\": 1e}", "[1e99999,]", "\"\xff\""}) {
    auto body = ParseWebhookBody("application/json", text);
    ASSERT_FALSE(body) << text;
    EXPECT_EQ(body.error().code, ErrorCode::kBadRequest) << text;
  }
}

}  // namespace
}  // namespace weft::server::hooks
