// The data format utilities, as a step would run them.
#include "connectors/data/data.h"

#include <gtest/gtest.h>

#include "connectors/testing/file_values_checks.h"
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
  for (const auto* c : catalog_.Connectors()) data_entries += c->name == "data";
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

// A CSV file larger than the 1 MiB pieces it is read in, with quoted fields
// (commas, doubled quotes, line breaks) wherever the pieces happen to split,
// read in slices that add up to what parsing the whole text gives.
TEST_F(DataTest, CsvParseReadsAFileInSlices) {
  testing::TempFileStore files;
  std::string text = "\xEF\xBB\xBFid,name,note\r\n";
  for (int i = 0; i < 50000; ++i)
    text += std::to_string(i) + ",name " + std::to_string(i) + ",\"a, \"\"quoted\"\"\nnote " +
            std::to_string(i * 7) + "\"\r\n";
  ASSERT_GT(text.size(), 2u << 20);
  auto file = WriteWholeFile(*files.get(), "big.csv", "text/csv", text);
  ASSERT_TRUE(file);
  auto whole = ParseCsv(text, CsvOptions{});
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->size(), 50000u);
  Json all = Json::array();
  int64_t offset = 0;
  for (int slices = 0; slices < 10; ++slices) {
    auto r = RunAction(catalog_, "data.csv_parse",
                       {{"file", file->ToJson()}, {"offset", offset}, {"limit", 7000}}, nullptr,
                       Millis(60'000), nullptr, files.get());
    ASSERT_FALSE(r.outcome.error) << r.error();
    EXPECT_EQ(r.output()["offset"], offset);
    EXPECT_EQ(r.output()["columns"], Json({"id", "name", "note"}));
    for (const auto& row : r.output()["rows"]) all.push_back(row);
    offset = r.output()["next_offset"];
    if (!r.output()["more"].get<bool>()) {
      EXPECT_EQ(r.output()["count"], 50000 % 7000);
      break;
    }
    EXPECT_EQ(r.output()["count"], 7000);
  }
  EXPECT_EQ(offset, 50000);
  EXPECT_TRUE(all == *whole);
  EXPECT_EQ(all[49999]["note"], "a, \"quoted\"\nnote " + std::to_string(49999 * 7));

  Json ghost = file->ToJson();
  ghost["id"] = NewFileId();
  auto missing = RunAction(catalog_, "data.csv_parse", {{"file", ghost}}, nullptr, Millis(10'000),
                           nullptr, files.get());
  ASSERT_TRUE(missing.outcome.error);
  EXPECT_NE(
      missing.error().find("with.file: file " + ghost["id"].get<std::string>() + " does not exist"),
      std::string::npos)
      << missing.error();
  auto no_files = RunAction(catalog_, "data.csv_parse", {{"file", file->ToJson()}});
  ASSERT_TRUE(no_files.outcome.error);
}

TEST_F(DataTest, XmlParseReadsAFileAsRecords) {
  testing::TempFileStore files;
  std::string xml = "<?xml version=\"1.0\"?><feed>";
  for (int i = 0; i < 20000; ++i)
    xml += "<entry id=\"" + std::to_string(i) + "\"><title>t " + std::to_string(i) +
           " &amp; more</title><tag>a</tag><tag>b</tag></entry>";
  xml += "</feed>";
  ASSERT_GT(xml.size(), 1u << 20);
  auto file = WriteWholeFile(*files.get(), "feed.xml", "application/xml", xml);
  ASSERT_TRUE(file);
  auto run = [&](Json in) {
    in["file"] = file->ToJson();
    return RunAction(catalog_, "data.xml_parse", in, nullptr, Millis(60'000), nullptr, files.get());
  };
  auto first = run({{"limit", 2}});
  ASSERT_FALSE(first.outcome.error) << first.error();
  EXPECT_EQ(first.output()["root"], "feed");
  EXPECT_EQ(first.output()["count"], 2);
  EXPECT_EQ(first.output()["more"], true);
  EXPECT_EQ(first.output()["records"][1],
            Json::parse(R"({"@id":"1","title":"t 1 & more","tag":["a","b"]})"));
  auto late = run({{"offset", 19998}, {"limit", 5}});
  ASSERT_FALSE(late.outcome.error) << late.error();
  EXPECT_EQ(late.output()["count"], 2);
  EXPECT_EQ(late.output()["more"], false);
  EXPECT_EQ(late.output()["records"][1]["@id"], "19999");
  auto titles = run({{"record", "title"}, {"offset", 10}, {"limit", 1}});
  ASSERT_FALSE(titles.outcome.error) << titles.error();
  EXPECT_EQ(titles.output()["records"], Json({"t 10 & more"}));

  auto broken = WriteWholeFile(*files.get(), "bad.xml", "application/xml", "<a><b></a>");
  auto bad = RunAction(catalog_, "data.xml_parse", {{"file", broken->ToJson()}}, nullptr,
                       Millis(10'000), nullptr, files.get());
  ASSERT_TRUE(bad.outcome.error);
  EXPECT_NE(bad.error().find("not well-formed"), std::string::npos) << bad.error();
}

TEST_F(DataTest, FormatsWriteFilesWithAsFile) {
  testing::TempFileStore files;
  Json rows = Json::parse(R"([{"a":1,"b":"x, y"},{"a":2,"b":"z"}])");
  auto text = RunAction(catalog_, "data.csv_format", {{"rows", rows}});
  auto file =
      RunAction(catalog_, "data.csv_format", {{"rows", rows}, {"as", "file"}, {"name", "out.csv"}},
                nullptr, Millis(10'000), nullptr, files.get());
  ASSERT_FALSE(file.outcome.error) << file.error();
  auto info = FileInfoFromJson(file.output()["file"], "file");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->name, "out.csv");
  EXPECT_EQ(info->content_type, "text/csv");
  EXPECT_EQ(files.Bytes(*info), text.output().get<std::string>());
  auto json = RunAction(catalog_, "data.json_stringify", {{"value", rows}, {"as", "file"}}, nullptr,
                        Millis(10'000), nullptr, files.get());
  ASSERT_FALSE(json.outcome.error) << json.error();
  EXPECT_EQ(json.output()["file"]["name"], "data.json");
  EXPECT_EQ(files.Bytes(*FileInfoFromJson(json.output()["file"], "f")), rows.dump());
  auto off = RunAction(catalog_, "data.json_stringify", {{"value", rows}, {"as", "file"}});
  ASSERT_TRUE(off.outcome.error);
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
