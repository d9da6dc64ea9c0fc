// S3FileStore against s3rver (tests/servers/s3_server.js) on loopback: what a
// node of weft writes, reads, lists and deletes in a bucket, what an
// unfinished write leaves (nothing), and what it costs in memory.
#include "connectors/s3/s3_file_store.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "connectors/s3/s3_request.h"
#include "connectors/testing/child_server.h"
#include "connectors/testing/file_values_checks.h"

namespace weft::connectors {
namespace {

namespace fs = std::filesystem;

std::string Random(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return out;
}

int64_t StatusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  return -1;
}

class S3FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(WEFT_TEST_SERVERS_DIR "/node_modules/s3rver/package.json", R_OK) != 0)
      GTEST_SKIP() << "s3rver is not installed (scripts/install-deps runs npm ci in tests/servers)";
    dir_ = testing::MakeTempDir("weft-s3files");
    server_ = std::make_unique<testing::ChildServer>(
        std::vector<std::string>{"node", WEFT_TEST_SERVERS_DIR "/s3_server.js", dir_});
    ASSERT_NE(server_->port(), 0) << server_->error();
    options_.bucket = "test-bucket";
    options_.prefix = "weft/files";
    options_.endpoint = "http://127.0.0.1:" + std::to_string(server_->port());
    options_.path_style = true;
    options_.access_key_id = "S3RVER";
    options_.secret_access_key = "S3RVER";
    options_.part_size = 1u << 20;  // several parts without big files (S3 itself wants 5 MiB)
  }
  void TearDown() override {
    server_.reset();
    if (!dir_.empty()) testing::RemoveTree(dir_);
  }
  std::unique_ptr<S3FileStore> OpenStore() {
    auto s = S3FileStore::Open(options_);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
  // s3rver's folder of unfinished multipart uploads in the bucket.
  std::string UploadsDir() const { return dir_ + "/test-bucket/._S3rver_uploads"; }
  size_t Unfinished() const {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(UploadsDir(), ec)) (void)e, ++n;
    return n;
  }
  // Every key in the bucket.
  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    for (const auto& e : fs::recursive_directory_iterator(dir_ + "/test-bucket")) {
      std::string p = e.path().string();
      const std::string suffix = "._S3rver_object";
      if (p.ends_with(suffix) && p.find("._S3rver_uploads") == std::string::npos)
        keys.push_back(p.substr(dir_.size() + 13, p.size() - dir_.size() - 13 - suffix.size()));
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  static Result<FileInfo> Write(FileStore& store, const std::string& bytes, size_t piece) {
    auto sink = store.Create("data.bin", "application/octet-stream");
    if (!sink) return Fail(sink.error());
    for (size_t at = 0; at < bytes.size(); at += piece)
      if (auto w = (*sink)->Write(bytes.data() + at, std::min(piece, bytes.size() - at)); !w)
        return Fail(w.error());
    return (*sink)->Commit();
  }
  static std::string ReadAll(FileSource& src) {
    std::string out;
    char buf[70'000];
    for (;;) {
      auto got = src.Read(buf, sizeof buf);
      EXPECT_TRUE(got) << got.error().message;
      if (!got || *got == 0) return out;
      out.append(buf, *got);
    }
  }

  std::string dir_;
  std::unique_ptr<testing::ChildServer> server_;
  S3FileStoreOptions options_;
};

TEST_F(S3FileStoreTest, WritesReadsRangesListsAndRemoves) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Describe(), "s3://test-bucket/weft/files");
  EXPECT_TRUE(store->Shared());
  EXPECT_TRUE(Keys().empty()) << "the write check leaves nothing";

  // A small file (one PUT) and one of several parts with a short last one.
  const std::string small = "hello, bucket\n";
  auto a = WriteWholeFile(*store, "hello.txt", "text/plain", small);
  ASSERT_TRUE(a) << a.error().message;
  const std::string big = Random((3u << 20) + 12'345, 7);
  auto b = Write(*store, big, 100'000);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->size, big.size());
  EXPECT_EQ(b->sha256, Sha256Hex(big));
  EXPECT_EQ(Unfinished(), 0u) << "the multipart upload was completed";
  // The layout: bytes and value side by side under the prefix.
  std::vector<std::string> expected = {"weft/files/" + a->id, "weft/files/" + a->id + ".json",
                                       "weft/files/" + b->id, "weft/files/" + b->id + ".json"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Keys(), expected);

  auto stat = store->Stat(a->id);
  ASSERT_TRUE(stat) << stat.error().message;
  EXPECT_EQ(stat->name, "hello.txt");
  EXPECT_EQ(stat->content_type, "text/plain");
  EXPECT_EQ(stat->sha256, Sha256Hex(small));
  auto whole = ReadWholeFile(*store, a->id, 1000, "a");
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(*whole, small);

  auto src = store->Open(b->id);
  ASSERT_TRUE(src) << src.error().message;
  EXPECT_EQ((*src)->info().sha256, b->sha256);
  EXPECT_EQ(ReadAll(**src), big);
  const uint64_t offset = (2u << 20) + 3;
  auto tail = store->Open(b->id, offset);
  ASSERT_TRUE(tail) << tail.error().message;
  EXPECT_EQ(ReadAll(**tail), big.substr(offset));
  auto past = store->Open(b->id, big.size());
  ASSERT_TRUE(past);
  EXPECT_EQ(ReadAll(**past), "");
  // A reader that stops early and goes (the API serving a range) is fine.
  {
    auto early = store->Open(b->id, 10);
    ASSERT_TRUE(early);
    char buf[100];
    auto got = (*early)->Read(buf, sizeof buf);
    ASSERT_TRUE(got);
    EXPECT_EQ(std::string(buf, *got), big.substr(10, *got));
  }

  std::map<std::string, uint64_t> listed;
  ASSERT_TRUE(store->ForEach([&](const FileInfo& f) { listed[f.id] = f.size; }));
  EXPECT_EQ(listed, (std::map<std::string, uint64_t>{{a->id, small.size()}, {b->id, big.size()}}));

  ASSERT_TRUE(store->Remove(b->id));
  ASSERT_TRUE(store->Remove(b->id)) << "removing what is gone succeeds";
  EXPECT_EQ(store->Stat(b->id).error().code, ErrorCode::kNotFound);
  auto gone = store->Open(b->id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_NE(gone.error().message.find("does not exist"), std::string::npos);
  EXPECT_EQ(store->Stat("fil_../../etc").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Keys(),
            (std::vector<std::string>{"weft/files/" + a->id, "weft/files/" + a->id + ".json"}));
}

TEST_F(S3FileStoreTest, ASinkDroppedWithoutCommitLeavesNothing) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  const std::string bytes = Random(5u << 20, 3);
  {
    auto sink = store->Create("big.bin", "");
    ASSERT_TRUE(sink);
    ASSERT_TRUE((*sink)->Write(bytes.data(), bytes.size()));
    EXPECT_EQ(Unfinished(), 1u) << "parts went up while the file was written";
  }
  {
    auto sink = store->Create("small.txt", "");
    ASSERT_TRUE(sink);
    ASSERT_TRUE((*sink)->Write("abc", 3));
  }
  EXPECT_EQ(Unfinished(), 0u) << "the multipart upload was aborted";
  EXPECT_TRUE(Keys().empty());
  size_t n = 0;
  ASSERT_TRUE(store->ForEach([&](const FileInfo&) { ++n; }));
  EXPECT_EQ(n, 0u);
}

TEST_F(S3FileStoreTest, TheMaximumSizeFailsTheWriteAndLeavesNothing) {
  options_.max_file_size = 3u << 20;
  auto store = OpenStore();
  ASSERT_TRUE(store);
  const std::string bytes = Random(4u << 20, 5);
  auto r = Write(*store, bytes, 1u << 16);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_NE(r.error().message.find("--max-file-size"), std::string::npos) << r.error().message;
  EXPECT_EQ(Unfinished(), 0u);
  EXPECT_TRUE(Keys().empty());
}

TEST_F(S3FileStoreTest, UnfinishedUploadsOlderThanAnHourAreAbortedAtStart) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  // Two uploads a crashed node (or a live one) left under the prefix, one
  // outside it.
  auto start = [&](const std::string& key) {
    S3FileStore::Call c;
    c.method = "POST";
    c.key = key;
    c.query = {{"uploads", ""}};
    auto r = store->Send(c);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
  };
  start("weft/files/fil_OLDOLDOLDOLDOLDOLDOLD1");
  start("weft/files/fil_NEWNEWNEWNEWNEWNEWNEW1");
  start("elsewhere/fil_OLDOLDOLDOLDOLDOLDOLD2");
  ASSERT_EQ(Unfinished(), 3u);
  // Age two of them by two hours (s3rver's Initiated is its key file's mtime).
  for (const auto& e : fs::directory_iterator(UploadsDir())) {
    std::string key = testing::ReadFile(e.path().string() + "/key");
    if (key.find("OLD") == std::string::npos) continue;
    struct timeval times[2];
    gettimeofday(&times[0], nullptr);
    times[0].tv_sec -= 7200;
    times[1] = times[0];
    ASSERT_EQ(utimes((e.path().string() + "/key").c_str(), times), 0);
  }
  auto dropped = store->DropUnfinished();
  ASSERT_TRUE(dropped) << dropped.error().message;
  EXPECT_EQ(*dropped, 1);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(UploadsDir()))
    left.push_back(testing::ReadFile(e.path().string() + "/key"));
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"elsewhere/fil_OLDOLDOLDOLDOLDOLDOLD2",
                                            "weft/files/fil_NEWNEWNEWNEWNEWNEWNEW1"}));
}

TEST_F(S3FileStoreTest, AnUnreachableOrRefusingBucketFailsOpenClearly) {
  S3FileStoreOptions o = options_;
  o.endpoint = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  auto down = S3FileStore::Open(o);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(down.error().message.find("s3://test-bucket/weft/files is unreachable"),
            std::string::npos)
      << down.error().message;

  o = options_;
  o.access_key_id = "NOT-A-KEY";
  o.secret_access_key = "not-the-secret";
  auto refused = S3FileStore::Open(o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("refused a test write: HTTP 403 (InvalidAccessKeyId"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find("not-the-secret"), std::string::npos);

  o = options_;
  o.bucket = "no-such-bucket";
  auto missing = S3FileStore::Open(o);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("NoSuchBucket"), std::string::npos)
      << missing.error().message;

  o = options_;
  o.access_key_id.clear();
  auto anonymous = S3FileStore::Open(o);
  ASSERT_FALSE(anonymous);
  EXPECT_NE(anonymous.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST_F(S3FileStoreTest, ParsesTheFlagAndTheEnvironment) {
  S3FileStoreOptions o;
  ASSERT_TRUE(ParseS3FilesUrl("s3://media-bucket/weft/prod/", &o));
  EXPECT_EQ(o.bucket, "media-bucket");
  EXPECT_EQ(o.prefix, "weft/prod");
  ASSERT_TRUE(ParseS3FilesUrl("s3://media-bucket", &o));
  EXPECT_EQ(o.prefix, "");
  for (const char* bad : {"s3://", "s3://Upper/x", "s3://ab", "http://bucket/x", "s3://bkt//x"}) {
    auto r = ParseS3FilesUrl(bad, &o);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("--files"), std::string::npos) << r.error().message;
  }
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  unsetenv("AWS_REGION");
  setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
  setenv("AWS_ENDPOINT_URL", "http://minio.local:9000", 1);
  S3OptionsFromEnvironment(&o);
  EXPECT_EQ(o.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(o.region, "eu-central-1");
  EXPECT_EQ(o.endpoint, "http://minio.local:9000");
  EXPECT_TRUE(o.path_style);
  for (const char* v :
       {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"})
    unsetenv(v);
  Connection c;
  c.name = "mail";
  c.connector = "smtp";
  EXPECT_FALSE(S3OptionsFromConnection(c, &o));
}

TEST_F(S3FileStoreTest, A200MegabyteFileRoundTripsInBoundedMemory) {
  options_.part_size = 0;  // the default, 8 MiB
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->part_size(), 8u << 20);
  constexpr size_t kSize = 200u << 20;
  const std::string chunk = Random(1u << 20, 9);
  // Reset the peak (VmHWM) to the current RSS, then write and read back.
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const int64_t before = StatusKb("VmRSS");
  auto sink = store->Create("video.bin", "video/mp4");
  ASSERT_TRUE(sink);
  // Each MiB differs (its index in the first bytes), so a part sent twice
  // or out of order changes the sha256.
  unsigned char md[32];
  unsigned len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string piece = chunk;
  for (size_t i = 0; i < kSize / chunk.size(); ++i) {
    std::memcpy(piece.data(), &i, sizeof i);
    EVP_DigestUpdate(ctx, piece.data(), piece.size());
    ASSERT_TRUE((*sink)->Write(piece.data(), piece.size()));
  }
  EVP_DigestFinal_ex(ctx, md, &len);
  auto file = (*sink)->Commit();
  sink->reset();
  ASSERT_TRUE(file) << file.error().message;
  const std::string expected = HexOf(md, len);
  EXPECT_EQ(file->sha256, expected);
  EXPECT_EQ(file->size, kSize);

  auto src = store->Open(file->id);
  ASSERT_TRUE(src) << src.error().message;
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(256u << 10);
  uint64_t read = 0;
  for (;;) {
    auto got = (*src)->Read(buf.data(), buf.size());
    ASSERT_TRUE(got) << got.error().message;
    if (*got == 0) break;
    EVP_DigestUpdate(ctx, buf.data(), *got);
    read += *got;
  }
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  EXPECT_EQ(read, kSize);
  EXPECT_EQ(HexOf(md, len), expected);
  const int64_t peak = StatusKb("VmHWM");
  if (testing::kRssMeansSomething)
    EXPECT_LT(peak - before, 64 * 1024) << "peak RSS " << peak << " kB, before " << before << " kB";
}

}  // namespace
}  // namespace weft::connectors
