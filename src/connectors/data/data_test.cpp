// The data format utilities, as a step would run them.
#include "connectors/data/data.h"

#include <gtest/gtest.h>

#include "connectors/testing/run_action.h"
#include "connectors/utilities/utilities.h"

namespace weft::connectors {
namespace {

using testing::RunAction;

class DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterUtilities(catalog_);
    RegisterDataFormats(catalog_);
  }
  ActionCatalog catalog_;
};

TEST_F(DataTest, JoinsTheUtilitiesDataConnector) {
  ASSERT_NE(catalog_.FindAction("data.set"), nullptr);
  ASSERT_NE(catalog_.FindAction("data.csv_parse"), nullptr);
  int data_entries = 0;
  for (const auto& c : catalog_.Connectors()) data_entries += c.name == "data";
  EXPECT_EQ(data_entries, 1);
  EXPECT_NE(catalog_.FindActionSpec("data.hash"), nullptr);
}

TEST_F(DataTest, CsvParseWithQuotesAndHeader) {
  auto r =
      RunAction(catalog_, "data.csv_parse",
                {{"text", "name,note\r\nAda,\"says \"\"hi\"\", ok\"\n\nBob,\"two\nlines\"\n"}});
  ASSERT_FALSE(r.outcome.error) << r.error();
  EXPECT_EQ(r.output(),
            Json::parse(
                R"([{"name":"Ada","note":"says \"hi\", ok"},{"name":"Bob","note":"two\nlines"}])"));
  auto semi = RunAction(catalog_, "data.csv_parse",
                        {{"text", "a;b\n1;2"}, {"delimiter", ";"}, {"header", false}});
  EXPECT_EQ(semi.output(), Json::parse(R"([["a","b"],["1","2"]])"));
  auto bad = RunAction(catalog_, "data.csv_parse", {{"text", "a,\"b\n"}});
  ASSERT_TRUE(bad.outcome.error);
  EXPECT_NE(bad.error().find("unclosed quote"), std::string::npos);
}

TEST_F(DataTest, CsvFormatRoundTrips) {
  Json rows =
      Json::parse(R"([{"name":"Ada","note":"a, b"},{"name":"Bob","note":"say \"x\"","extra":1}])");
  auto r = RunAction(catalog_, "data.csv_format", {{"rows", rows}});
  ASSERT_FALSE(r.outcome.error) << r.error();
  EXPECT_EQ(r.output(), "name,note,extra\r\nAda,\"a, b\",\r\nBob,\"say \"\"x\"\"\",1\r\n");
  auto back = RunAction(catalog_, "data.csv_parse", {{"text", r.output()}});
  EXPECT_EQ(back.output()[1]["note"], "say \"x\"");
  auto all = RunAction(catalog_, "data.csv_format",
                       {{"rows", Json::parse("[[1,2]]")},
                        {"header", false},
                        {"quoting", "all"},
                        {"delimiter", "\\t"}});
  EXPECT_EQ(all.output(), "\"1\"\t\"2\"\r\n");
}

TEST_F(DataTest, XmlParseAndFormat) {
  auto r = RunAction(
      catalog_, "data.xml_parse",
      {{"text",
        "<?xml version=\"1.0\"?><order id=\"7\"><item sku=\"a\">2</item><item sku=\"b\">1</item>"
        "<note>rush &amp; wrap</note><empty/></order>"}});
  ASSERT_FALSE(r.outcome.error) << r.error();
  EXPECT_EQ(
      r.output(),
      Json::parse(
          R"({"order":{"@id":"7","item":[{"@sku":"a","#text":"2"},{"@sku":"b","#text":"1"}],"note":"rush & wrap","empty":""}})"));
  auto f = RunAction(catalog_, "data.xml_format", {{"value", r.output()}, {"declaration", false}});
  ASSERT_FALSE(f.outcome.error) << f.error();
  EXPECT_EQ(f.output(),
            "<order id=\"7\"><item sku=\"a\">2</item><item sku=\"b\">1</item><note>rush &amp; "
            "wrap</note><empty/></order>");
  auto bad = RunAction(catalog_, "data.xml_parse", {{"text", "<a><b></a>"}});
  ASSERT_TRUE(bad.outcome.error);
  EXPECT_NE(bad.error().find("line 1"), std::string::npos) << bad.error();
  auto badname = RunAction(catalog_, "data.xml_format", {{"value", {{"1x", "v"}}}});
  EXPECT_TRUE(badname.outcome.error);
}

TEST_F(DataTest, JsonBase64AndHash) {
  EXPECT_EQ(RunAction(catalog_, "data.json_parse", {{"text", "{\"a\":[1,2]}"}}).output(),
            Json::parse(R"({"a":[1,2]})"));
  EXPECT_TRUE(RunAction(catalog_, "data.json_parse", {{"text", "{oops"}}).outcome.error);
  EXPECT_EQ(RunAction(catalog_, "data.json_stringify", {{"value", {{"a", 1}}}}).output(),
            "{\"a\":1}");
  EXPECT_EQ(
      RunAction(catalog_, "data.json_stringify", {{"value", {{"a", 1}}}, {"indent", 2}}).output(),
      "{\n  \"a\": 1\n}");

  EXPECT_EQ(RunAction(catalog_, "data.base64_encode", {{"text", "héllo?"}}).output(),
            "aMOpbGxvPw==");
  EXPECT_EQ(
      RunAction(catalog_, "data.base64_encode", {{"text", "héllo?"}, {"variant", "url"}}).output(),
      "aMOpbGxvPw");
  EXPECT_EQ(RunAction(catalog_, "data.base64_decode", {{"text", "aMOpbGxvPw=="}}).output(),
            "héllo?");
  EXPECT_EQ(RunAction(catalog_, "data.base64_decode", {{"text", "aMOpbGxvPw"}, {"variant", "url"}})
                .output(),
            "héllo?");
  EXPECT_TRUE(RunAction(catalog_, "data.base64_decode", {{"text", "***"}}).outcome.error);

  EXPECT_EQ(RunAction(catalog_, "data.hash", {{"text", "abc"}, {"algorithm", "md5"}}).output(),
            "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(RunAction(catalog_, "data.hash", {{"text", "abc"}}).output(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(
      RunAction(
          catalog_, "data.hash",
          {{"text", "what do ya want for nothing?"}, {"algorithm", "hmac-sha256"}, {"key", "Jefe"}})
          .output(),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(RunAction(catalog_, "data.hash", {{"text", "abc"}, {"encoding", "base64"}}).output(),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  EXPECT_TRUE(RunAction(catalog_, "data.hash", {{"text", "abc"}, {"algorithm", "hmac-sha256"}})
                  .outcome.error);
}

}  // namespace
}  // namespace weft::connectors
