#include <gtest/gtest.h>

#include <set>

#include "common/base64.h"
#include "common/ids.h"
#include "common/result.h"
#include "common/time_format.h"
#include "common/url.h"

namespace weft {
namespace {

TEST(TimeFormat, RoundTripsIsoInstants) {
  auto t = ParseIso("2026-12-24T18:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatIso(*t), "2026-12-24T18:00:00Z");
  auto with_offset = ParseIso("2026-12-24T19:00:00.250+01:00");
  ASSERT_TRUE(with_offset);
  EXPECT_EQ(FormatIso(*with_offset), "2026-12-24T18:00:00.250Z");
  EXPECT_FALSE(ParseIso("2026-12-24T18:00:00"));  // no offset: not an instant
  EXPECT_FALSE(ParseIso("2026-13-24T18:00:00Z"));
}

TEST(TimeFormat, ParsesDurationsWithUnits) {
  EXPECT_EQ(ParseDuration("10ms"), Millis(10));
  EXPECT_EQ(ParseDuration("1.5s"), Millis(1500));
  EXPECT_EQ(ParseDuration("2h"), Millis(7'200'000));
  EXPECT_EQ(ParseDuration("1d"), Millis(86'400'000));
  EXPECT_FALSE(ParseDuration("10"));
  EXPECT_FALSE(ParseDuration("s"));
  EXPECT_FALSE(ParseDuration("1.2.3s"));
  EXPECT_FALSE(ParseDuration("5 minutes"));
  EXPECT_EQ(FormatDuration(Millis(90'000)), "90s");
  EXPECT_EQ(FormatDuration(Millis(120'000)), "2m");
}

TEST(Url, EncodesAllButUnreservedBytes) {
  EXPECT_EQ(UrlEncode("a-Z_0.9~"), "a-Z_0.9~");
  EXPECT_EQ(UrlEncode("a b&c=d/e?"), "a%20b%26c%3Dd%2Fe%3F");
  EXPECT_EQ(UrlEncode("\xC3\xA9"), "%C3%A9");  // UTF-8 bytes, upper-case hex
  EXPECT_EQ(UrlEncode(""), "");
}

TEST(Ids, AreUniqueAndSortByTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(NewId(1'700'000'000'000 + i));
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_LT(NewId(1'700'000'000'000), NewId(1'700'000'000'001));
  EXPECT_EQ(NewId(1).size(), 20u);
}

TEST(Ids, TokensCarryEnoughRandomBits) {
  std::string t = RandomToken(128);
  EXPECT_GE(t.size(), 22u);  // 22 base62 digits > 128 bits
  EXPECT_NE(RandomToken(128), RandomToken(128));
  EXPECT_EQ(RedactToken("abcdefgh"), "abcd…");
}

TEST(Result, CarriesValueOrError) {
  Result<int> ok = 3;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 3);
  Result<int> bad = Fail(ErrorCode::kNotFound, "no such flow");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeName(bad.error().code), "not_found");
}

TEST(Base64, EncodesAndDecodesBothAlphabets) {
  const std::string bytes{'\xfb', '\xff', '\0', 'a'};
  EXPECT_EQ(Base64Encode(bytes), "+/8AYQ==");
  EXPECT_EQ(Base64Encode(bytes, Base64Alphabet::kUrlSafe), "-_8AYQ");
  EXPECT_EQ(Base64Decode("+/8A YQ==\r\n"), bytes);  // whitespace is ignored
  EXPECT_EQ(Base64Decode("-_8AYQ", Base64Alphabet::kUrlSafe), bytes);
  EXPECT_EQ(Base64Decode("-_8AYQ==", Base64Alphabet::kUrlSafe), bytes);
  EXPECT_FALSE(Base64Decode("-_8AYQ=="));                          // not the standard alphabet
  EXPECT_FALSE(Base64Decode("+/8AYQ", Base64Alphabet::kUrlSafe));  // nor the URL-safe one
  EXPECT_FALSE(Base64Decode("+/8AYQ"));                            // padding is required
  EXPECT_FALSE(Base64Decode("+/8AYQ==x"));                         // nothing after the end
  EXPECT_EQ(Base64Decode(""), "");
}

TEST(Base64, AnyAlphabetDecodesWhatSignersSend) {
  const std::string bytes{'\xfb', '\xff', '\0', 'a'};
  for (const char* text : {"+/8AYQ==", "+/8AYQ", "-_8AYQ==", "-_8AYQ"})
    EXPECT_EQ(Base64DecodeAny(text), bytes) << text;
  EXPECT_FALSE(Base64DecodeAny("+_8AYQ"));  // one of each alphabet
  EXPECT_FALSE(Base64DecodeAny("not base64!"));
}

}  // namespace
}  // namespace weft
