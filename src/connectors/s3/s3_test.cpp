// The s3 connector against s3rver (npm, tests/servers) on loopback, which
// checks every request's SigV4 signature and keeps objects in a temp folder.
#include "connectors/s3/s3.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <iostream>

#include "connectors/testing/child_server.h"
#include "connectors/testing/file_values_checks.h"
#include "connectors/testing/run_action.h"

namespace weft::connectors {
namespace {

using testing::RunAction;

class S3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(WEFT_TEST_SERVERS_DIR "/node_modules/s3rver/package.json", R_OK) != 0)
      GTEST_SKIP() << "s3rver is not installed (scripts/install-deps runs npm ci in tests/servers)";
    dir_ = testing::MakeTempDir("weft-s3");
    server_ = std::make_unique<testing::ChildServer>(
        std::vector<std::string>{"node", WEFT_TEST_SERVERS_DIR "/s3_server.js", dir_});
    ASSERT_NE(server_->port(), 0) << server_->error();
    RegisterS3(catalog_);
    conn_ = testing::MakeConnection(
        "s3",
        {{"bucket", "test-bucket"},
         {"endpoint", "http://127.0.0.1:" + std::to_string(server_->port())},
         {"path_style", true}},
        {{"type", "access_key"}, {"access_key_id", "S3RVER"}, {"secret_access_key", "S3RVER"}});
  }
  void TearDown() override {
    server_.reset();
    testing::RemoveTree(dir_);
  }
  std::string dir_;
  std::unique_ptr<testing::ChildServer> server_;
  ActionCatalog catalog_;
  Connection conn_;
};

TEST_F(S3Test, PutListGetDelete) {
  auto put = RunAction(catalog_, "s3.put",
                       {{"key", "exports/2026/a b.csv"},
                        {"content", "id,name\n1,Ada\n"},
                        {"content_type", "text/csv"}},
                       &conn_);
  ASSERT_FALSE(put.outcome.error) << put.error();
  auto bin =
      RunAction(catalog_, "s3.put",
                {{"key", "exports/blob.bin"}, {"content", "AAH/"}, {"encoding", "base64"}}, &conn_);
  ASSERT_FALSE(bin.outcome.error) << bin.error();
  RunAction(catalog_, "s3.put", {{"key", "other.txt"}, {"content", "x"}}, &conn_);

  auto list = RunAction(catalog_, "s3.list", {{"prefix", "exports/"}}, &conn_);
  ASSERT_FALSE(list.outcome.error) << list.error();
  std::vector<std::string> keys;
  for (const auto& o : list.output()["objects"]) keys.push_back(o["key"]);
  EXPECT_EQ(keys, (std::vector<std::string>{"exports/2026/a b.csv", "exports/blob.bin"}));
  EXPECT_EQ(list.output()["objects"][1]["size"], 3);

  auto grouped =
      RunAction(catalog_, "s3.list", {{"prefix", "exports/"}, {"delimiter", "/"}}, &conn_);
  ASSERT_FALSE(grouped.outcome.error) << grouped.error();
  EXPECT_EQ(grouped.output()["prefixes"], Json({"exports/2026/"}));

  auto get = RunAction(catalog_, "s3.get", {{"key", "exports/2026/a b.csv"}}, &conn_);
  ASSERT_FALSE(get.outcome.error) << get.error();
  EXPECT_EQ(get.output()["content"], "id,name\n1,Ada\n");
  EXPECT_EQ(get.output()["content_type"], "text/csv");
  EXPECT_EQ(
      RunAction(catalog_, "s3.get", {{"key", "exports/blob.bin"}}, &conn_).output()["content"],
      "AAH/");

  auto del = RunAction(catalog_, "s3.delete", {{"key", "exports/blob.bin"}}, &conn_);
  ASSERT_FALSE(del.outcome.error) << del.error();
  auto gone = RunAction(catalog_, "s3.get", {{"key", "exports/blob.bin"}}, &conn_);
  ASSERT_TRUE(gone.outcome.error);
  EXPECT_NE(gone.error().find("NoSuchKey"), std::string::npos) << gone.error();

  SystemClock clock;
  auto t = (*catalog_.FindTester("s3"))(conn_, clock);
  EXPECT_TRUE(t.ok) << t.message;
}

TEST_F(S3Test, AnUnknownKeyOrBucketIsRefusedWithoutShowingTheSecret) {
  // s3rver checks the access key but not SigV4 signatures (SignV4Test does).
  Connection wrong = conn_;
  wrong.auth["access_key_id"] = "NOT-A-KEY";
  wrong.auth["secret_access_key"] = "not-the-secret";
  auto r = RunAction(catalog_, "s3.put", {{"key", "x.txt"}, {"content", "x"}}, &wrong);
  ASSERT_TRUE(r.outcome.error);
  EXPECT_NE(r.error().find("InvalidAccessKeyId"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find("not-the-secret"), std::string::npos);
  Connection no_bucket = conn_;
  no_bucket.settings["bucket"] = "missing-bucket";
  SystemClock clock;
  auto t = (*catalog_.FindTester("s3"))(no_bucket, clock);
  EXPECT_FALSE(t.ok);
  EXPECT_NE(t.message.find("NoSuchBucket"), std::string::npos) << t.message;
}

TEST_F(S3Test, FileValuesStreamBothWays) {
  testing::TempFileStore files;
  auto run = [&](const std::string& uses, const Json& in, FileStore* store) {
    return RunAction(catalog_, uses, in, &conn_, Millis(120'000), nullptr, store);
  };
  const std::string bytes = testing::RandomBytes(3u << 20, 11);
  auto source = WriteWholeFile(*files.get(), "photo.png", "image/png", bytes);
  ASSERT_TRUE(source);

  auto put = run("s3.put", {{"key", "in/photo.png"}, {"file", source->ToJson()}}, files.get());
  ASSERT_FALSE(put.outcome.error) << put.error();
  EXPECT_EQ(put.output()["size"], bytes.size());
  EXPECT_EQ(put.output()["sha256"], source->sha256);

  // auto: an image is a file, typed by S3's Content-Type, named after the key.
  auto get = run("s3.get", {{"key", "in/photo.png"}}, files.get());
  ASSERT_FALSE(get.outcome.error) << get.error();
  const Json& value = get.output()["file"];
  ASSERT_TRUE(IsFileValue(value)) << get.output().dump();
  EXPECT_EQ(value["sha256"], source->sha256);
  EXPECT_EQ(value["name"], "photo.png");
  EXPECT_EQ(value["content_type"], "image/png");
  EXPECT_EQ(get.output()["content_type"], "image/png");

  // Back up under another name, and read that back.
  auto copy = run("s3.put", {{"key", "out/copy.bin"}, {"file", value}}, files.get());
  ASSERT_FALSE(copy.outcome.error) << copy.error();
  auto back = run("s3.get", {{"key", "out/copy.bin"}, {"as", "file"}}, files.get());
  ASSERT_FALSE(back.outcome.error) << back.error();
  EXPECT_EQ(back.output()["file"]["sha256"], source->sha256);
  EXPECT_TRUE(files.Bytes(*FileInfoFromJson(back.output()["file"], "x")) == bytes);

  // Text: auto keeps small text as text; as: text still works.
  RunAction(catalog_, "s3.put",
            {{"key", "in/a.csv"}, {"content", "id\n1\n"}, {"content_type", "text/csv"}}, &conn_);
  auto text = run("s3.get", {{"key", "in/a.csv"}}, files.get());
  ASSERT_FALSE(text.outcome.error) << text.error();
  EXPECT_EQ(text.output()["content"], "id\n1\n");
  auto as_text = run("s3.get", {{"key", "in/a.csv"}, {"as", "text"}}, files.get());
  EXPECT_EQ(as_text.output()["content"], "id\n1\n");
  auto as_file = run("s3.get", {{"key", "in/a.csv"}, {"as", "file"}}, files.get());
  ASSERT_FALSE(as_file.outcome.error) << as_file.error();
  EXPECT_EQ(as_file.output()["file"]["content_type"], "text/csv");
  auto missing_key = run("s3.get", {{"key", "in/nope.png"}}, files.get());
  ASSERT_TRUE(missing_key.outcome.error);
  EXPECT_NE(missing_key.error().find("NoSuchKey"), std::string::npos) << missing_key.error();

  // A file value the store does not hold.
  Json ghost = source->ToJson();
  ghost["id"] = NewFileId();
  auto unknown = run("s3.put", {{"key", "in/ghost"}, {"file", ghost}}, files.get());
  ASSERT_TRUE(unknown.outcome.error);
  EXPECT_NE(
      unknown.error().find("with.file: file " + ghost["id"].get<std::string>() + " does not exist"),
      std::string::npos)
      << unknown.error();

  // --max-file-size below the object: kPayloadTooLarge, nothing left in the store.
  testing::TempFileStore small(1u << 20);
  auto big = run("s3.get", {{"key", "in/photo.png"}}, small.get());
  ASSERT_TRUE(big.outcome.error);
  EXPECT_EQ(big.outcome.error->code, ErrorCode::kPayloadTooLarge) << big.error();
  EXPECT_EQ(small.Committed(), 0u);
  EXPECT_EQ(small.Unfinished(), 0u);
}

// Above 64 MiB a put is a multipart upload in parts of 64 MiB, each read
// from the file as it goes.
TEST_F(S3Test, ALargeFileGoesUpInParts) {
  testing::TempFileStore files;
  auto sink = files->Create("video.mp4", "video/mp4");
  ASSERT_TRUE(sink);
  for (size_t i = 0; i < 65; ++i) {
    std::string chunk = testing::RandomBytes(1u << 20, 100 + i);
    ASSERT_TRUE((*sink)->Write(chunk.data(), chunk.size()));
  }
  ASSERT_TRUE((*sink)->Write("tail", 4));
  auto source = (*sink)->Commit();
  ASSERT_TRUE(source);
  bool reset = testing::ResetPeakRss();
  int64_t before = testing::StatusKb("VmRSS");
  auto put = RunAction(catalog_, "s3.put", {{"key", "big/video.mp4"}, {"file", source->ToJson()}},
                       &conn_, Millis(300'000), nullptr, files.get());
  ASSERT_FALSE(put.outcome.error) << put.error();
  EXPECT_EQ(put.output()["parts"], 2);
  int parts_logged = 0;
  for (const auto& line : put.logs) parts_logged += line.find("uploaded part") != std::string::npos;
  EXPECT_EQ(parts_logged, 2);

  auto back = RunAction(catalog_, "s3.get", {{"key", "big/video.mp4"}}, &conn_, Millis(300'000),
                        nullptr, files.get());
  ASSERT_FALSE(back.outcome.error) << back.error();
  EXPECT_EQ(back.output()["file"]["size"], source->size);
  EXPECT_EQ(back.output()["file"]["sha256"], source->sha256);
  EXPECT_EQ(back.output()["file"]["content_type"], "video/mp4");
  int64_t peak = testing::StatusKb(reset ? "VmHWM" : "VmRSS");
  std::cout << "[ rss ] before " << before / 1024 << " MiB, peak " << peak / 1024 << " MiB\n";
  if (testing::kRssMeansSomething)
    EXPECT_LT(peak - before, 32 * 1024) << "grew by " << (peak - before) / 1024 << " MiB";
}

// The examples of AWS's "Signature Calculations for the Authorization Header"
// (GET Bucket Lifecycle, GET Bucket), whose signatures AWS publishes.
TEST(SignV4Test, MatchesAwsPublishedExamples) {
  SigV4Request r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/";
  r.region = "us-east-1";
  r.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  r.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  r.now = FromUnixMs(1369353600000);  // 2013-05-24T00:00:00Z
  r.query = {{"lifecycle", ""}};
  auto h = SignV4(r);
  EXPECT_EQ(h["Authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  EXPECT_EQ(h["x-amz-date"], "20130524T000000Z");
  EXPECT_EQ(h["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  r.query = {{"max-keys", "2"}, {"prefix", "J"}};
  EXPECT_NE(SignV4(r)["Authorization"].find(
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            std::string::npos);
}

}  // namespace
}  // namespace weft::connectors
