// The s3 connector against s3rver (npm, tests/servers) on loopback, which
// checks every request's SigV4 signature and keeps objects in a temp folder.
#include "connectors/s3/s3.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "connectors/testing/child_server.h"
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
