// Files end to end: the real binary downloads a file of random bytes from a
// local server into its file store, uploads it elsewhere, serves it at
// /api/v1/files/{id} (with ranges), and never holds it whole in memory.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "connectors/testing/child_server.h"
#include "harness.h"

namespace weft::itest {
namespace {

namespace fs = std::filesystem;

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

std::string Sha256(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

// Writes `size` random bytes to `path`; returns their sha256.
std::string WriteRandomFile(const std::string& path, size_t size) {
  std::mt19937_64 rng(42);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  std::ofstream out(path, std::ios::binary);
  std::vector<uint64_t> block(1 << 17);  // 1 MiB
  for (size_t done = 0; done < size;) {
    for (auto& w : block) w = rng();
    size_t n = std::min(size - done, block.size() * sizeof(uint64_t));
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    EVP_DigestUpdate(md, block.data(), n);
    done += n;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(md, digest, &len);
  EVP_MD_CTX_free(md);
  return Hex(digest, len);
}

// A value from /proc/<pid>/status in kB ("VmHWM", "VmRSS").
int64_t ProcStatusKb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  return -1;
}

// The files (bytes, not values, not part files) in a local file store.
int64_t CountFiles(const std::string& dir) {
  int64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() != ".json" &&
        e.path().parent_path().filename() != "tmp")
      ++n;
  return n;
}

// The highest RssAnon (the process's own memory, without the page cache of
// files it maps) of `pid` while it lives: sampled every 10 ms until stopped.
class AnonPeak {
 public:
  explicit AnonPeak(pid_t pid)
      : thread_([this, pid] {
          while (!stop_) {
            int64_t kb = ProcStatusKb(pid, "RssAnon");
            if (kb > peak_) peak_ = kb;
            std::this_thread::sleep_for(10ms);
          }
        }) {}
  ~AnonPeak() { Stop(); }
  int64_t Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return peak_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_{0};
  std::thread thread_;
};

class FilesTest : public WeftTest {
 protected:
  void SetUp() override {
    if (std::getenv("WEFT_TEST_DB"))
      GTEST_SKIP() << "with PostgreSQL files need --files s3://... (cluster_pgtest covers them)";
    WeftTest::SetUp();
  }
};

TEST_F(FilesTest, ABigFileIsStreamedThroughAFlowAndServedByTheApi) {
  const size_t kSize = 200u << 20;  // 200 MiB
  std::string dir = server().temp_dir() + "/blobs";
  fs::create_directories(dir);
  const std::string source_sha = WriteRandomFile(dir + "/video.bin", kSize);
  weft::testing::ChildServer blobs(
      {weft::testing::SystemPython(), std::string(WEFT_TEST_SERVERS_DIR) + "/blob_server.py", dir});
  ASSERT_GT(blobs.port(), 0) << blobs.error();
  const std::string base = "http://127.0.0.1:" + std::to_string(blobs.port());

  Json flow = CreateFlow(api(), Json{{"name", UniqueName("copy")},
                                     {"steps",
                                      {{{"id", "get"},
                                        {"uses", "http.request"},
                                        {"with", {{"url", base + "/files/video.bin"}}}},
                                       {{"id", "put"},
                                        {"uses", "http.request"},
                                        {"with",
                                         {{"method", "PUT"},
                                          {"url", base + "/upload/copy.bin"},
                                          {"body", "{{ steps.get.output.body }}"}}}}}}});
  const int64_t rss_before = ProcStatusKb(server().pid(), "VmRSS");
  HttpResult r = RunAndWait(api(), flow["id"]);
  ASSERT_EQ(r.status, 200) << r.body;
  Json run = WaitRunFinished(api(), r.json["id"], 120s);
  ASSERT_EQ(run["status"], "succeeded") << run.dump();
  const int64_t peak = ProcStatusKb(server().pid(), "VmHWM");

  // The download became a file value, not base64 in the run.
  Json file = StepOf(run, "get")["output"]["body"];
  ASSERT_EQ(file["type"], "file") << file.dump();
  EXPECT_EQ(file["size"], kSize);
  EXPECT_EQ(file["sha256"], source_sha);
  EXPECT_EQ(file["name"], "video.bin");
  EXPECT_EQ(file["content_type"], "application/octet-stream");
  EXPECT_LT(run.dump().size(), 10'000u) << "the run's JSON carries a reference, not the bytes";
  // The upload received the same bytes.
  Json put = StepOf(run, "put")["output"]["body"];
  EXPECT_EQ(put["size"], kSize);
  EXPECT_EQ(put["sha256"], source_sha);
  EXPECT_EQ(put["content_type"], "application/octet-stream");
  // Never whole in memory: the peak RSS grew by far less than the file.
  EXPECT_LT(peak - rss_before, 64 * 1024) << "peak RSS " << peak << " kB, before " << rss_before;

  // The API serves the bytes, whole and in ranges.
  const std::string id = file["id"];
  HttpResult meta = api().Get("/api/v1/files/" + id + "/meta");
  ASSERT_EQ(meta.status, 200) << meta.body;
  EXPECT_EQ(meta.json["sha256"], source_sha);
  HttpResult whole = api().Request("GET", "/api/v1/files/" + id, "", {}, 120s);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body.size(), kSize);
  EXPECT_EQ(Sha256(whole.body), source_sha);
  EXPECT_EQ(whole.Header("etag"), "\"" + source_sha + "\"");
  EXPECT_NE(whole.Header("content-disposition").find("video.bin"), std::string::npos);
  std::ifstream in(dir + "/video.bin", std::ios::binary);
  std::string head(100, '\0');
  in.read(head.data(), 100);
  HttpResult part = api().Request("GET", "/api/v1/files/" + id, "", {"Range: bytes=0-99"});
  ASSERT_EQ(part.status, 206) << part.body;
  EXPECT_EQ(part.body, head);
  EXPECT_EQ(part.Header("content-range"), "bytes 0-99/" + std::to_string(kSize));
  HttpResult past = api().Request("GET", "/api/v1/files/" + id, "",
                                  {"Range: bytes=" + std::to_string(kSize) + "-"});
  EXPECT_EQ(past.status, 416);
  HttpResult same =
      api().Request("GET", "/api/v1/files/" + id, "", {"If-None-Match: \"" + source_sha + "\""});
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(api().Get("/api/v1/files/fil_AAAAAAAAAAAAAAAAAAAAAA").status, 404);
  EXPECT_EQ(api().Get("/api/v1/files/..%2F..%2Fweft.db").status, 404);
}

TEST_F(FilesTest, FileUtilitiesAndAMissingFileFailTheStepClearly) {
  Json flow = CreateFlow(
      api(), Json{{"name", UniqueName("text")},
                  {"steps",
                   {{{"id", "make"},
                     {"uses", "file.from_text"},
                     {"with", {{"text", "hello, files"}, {"name", "greeting.txt"}}}},
                    {{"id", "read"},
                     {"uses", "file.read_text"},
                     {"with", {{"file", "{{ steps.make.output.file }}"}}}},
                    {{"id", "b64"},
                     {"uses", "file.to_base64"},
                     {"with", {{"file", "{{ steps.make.output.file }}"}, {"max_bytes", 5}}}}}}});
  HttpResult r = RunAndWait(api(), flow["id"]);
  Json run = WaitRunFinished(api(), r.json["id"]);
  EXPECT_EQ(StepOf(run, "make")["output"]["file"]["content_type"], "text/plain");
  EXPECT_EQ(StepOf(run, "read")["output"]["text"], "hello, files");
  Json b64 = StepOf(run, "b64");
  EXPECT_EQ(b64["status"], "failed");
  EXPECT_NE(b64["error"]["message"].get<std::string>().find("over the cap of 5 bytes"),
            std::string::npos)
      << b64.dump();

  // A file value from outside naming an id the store does not hold.
  Json ghost = CreateFlow(
      api(),
      Json{{"name", UniqueName("ghost")},
           {"steps",
            {{{"id", "read"},
              {"uses", "file.read_text"},
              {"with", {{"file", {{"type", "file"}, {"id", "fil_AAAAAAAAAAAAAAAAAAAAAA"}}}}}}}}});
  r = RunAndWait(api(), ghost["id"]);
  run = WaitRunFinished(api(), r.json["id"]);
  Json step = StepOf(run, "read");
  EXPECT_EQ(step["status"], "failed");
  EXPECT_NE(step["error"]["message"].get<std::string>().find("does not exist"), std::string::npos)
      << step.dump();
}

TEST_F(FilesTest, AMultipartWebhookWithA100MegabytePartReachesAnFtpServerIntact) {
  const size_t kSize = 100u << 20;
  std::string root = server().temp_dir() + "/ftp";
  fs::create_directories(root + "/in");
  weft::testing::ChildServer ftp(
      {weft::testing::SystemPython(), std::string(WEFT_TEST_SERVERS_DIR) + "/ftp_server.py", root});
  ASSERT_GT(ftp.port(), 0) << ftp.error();
  HttpResult conn = api().Post(
      "/api/v1/connections",
      Json{{"name", UniqueName("drop")},
           {"connector", "ftp"},
           {"settings", {{"host", "127.0.0.1"}, {"port", ftp.port()}}},
           {"auth", {{"type", "password"}, {"username", "ftpuser"}, {"password", "pw"}}}});
  ASSERT_EQ(conn.status, 201) << conn.body;
  Json flow = CreateFlow(
      api(), Json{{"name", UniqueName("upload")},
                  {"trigger", {{"type", "webhook"}, {"webhook", {{"max_body", 200 << 20}}}}},
                  {"steps",
                   {{{"id", "put"},
                     {"uses", "ftp.put"},
                     {"connection", conn.json["name"]},
                     {"with",
                      {{"path", "/in/{{ trigger.body.asset.name }}"},
                       {"file", "{{ trigger.body.asset }}"}}}}}}});
  ASSERT_EQ(api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status, 200);

  std::string dir = server().temp_dir() + "/blobs";
  fs::create_directories(dir);
  const std::string sha = WriteRandomFile(dir + "/part.bin", kSize);
  std::string bytes(kSize, '\0');
  std::ifstream(dir + "/part.bin", std::ios::binary).read(bytes.data(), kSize);
  std::string body =
      "--b0undary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nSpring video\r\n"
      "--b0undary\r\nContent-Disposition: form-data; name=\"asset\"; filename=\"spring.mp4\"\r\n"
      "Content-Type: video/mp4\r\n\r\n" +
      bytes + "\r\n--b0undary--\r\n";
  bytes.clear();
  std::string url = flow["webhook_url"];
  const int64_t anon_before = ProcStatusKb(server().pid(), "RssAnon");
  AnonPeak anon(server().pid());
  HttpResult hook = api().Request("POST", url.substr(url.find("/hooks/")), body,
                                  {"Content-Type: multipart/form-data; boundary=b0undary"}, 120s);
  ASSERT_EQ(hook.status, 202) << hook.body;
  // The body went to disk as it came, and the part from there to the store.
  EXPECT_LT(anon.Stop() - anon_before, 64 * 1024) << "kB of weft's own memory for a 100 MB body";
  Json run = WaitRunFinished(api(), hook.json["run_id"], 120s);
  ASSERT_EQ(run["status"], "succeeded") << run.dump();
  Json asset = run["trigger"]["body"]["asset"];
  EXPECT_EQ(asset["type"], "file");
  EXPECT_EQ(asset["size"], kSize);
  EXPECT_EQ(asset["content_type"], "video/mp4");
  EXPECT_EQ(asset["sha256"], sha);
  EXPECT_EQ(run["trigger"]["body"]["title"], "Spring video");
  // On the FTP server, byte for byte.
  std::ifstream got(root + "/in/spring.mp4", std::ios::binary);
  std::string received((std::istreambuf_iterator<char>(got)), std::istreambuf_iterator<char>());
  EXPECT_EQ(received.size(), kSize);
  EXPECT_EQ(Sha256(received), sha);
}

// A webhook whose body is 256 MiB of bytes, signed (GitHub's scheme): it
// goes to disk as it arrives (weft's own memory grows by far less than the
// body), the signature is checked over the spooled bytes, and the run's
// trigger holds it as a file. A wrong signature on the same body starts no
// run and leaves no file.
TEST_F(FilesTest, AQuarterGigabyteSignedUploadIsSpooledToAFileNotHeldInMemory) {
  const size_t kSize = 256u << 20;
  const std::string secret = "s3cret";
  Json flow = CreateFlow(
      api(), Json{{"name", UniqueName("upload")},
                  {"trigger",
                   {{"type", "webhook"},
                    {"webhook",
                     {{"max_body", 1 << 30},
                      {"auth", {{"type", "hmac"}, {"scheme", "github"}, {"secret", secret}}}}}}},
                  {"steps",
                   {{{"id", "size"},
                     {"uses", "data.set"},
                     {"with", {{"value", "{{ trigger.body.size }}"}}}}}}});
  ASSERT_EQ(api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/activate").status, 200);

  std::string dir = server().temp_dir() + "/blobs";
  fs::create_directories(dir);
  const std::string sha = WriteRandomFile(dir + "/upload.bin", kSize);
  std::string body(kSize, '\0');
  std::ifstream(dir + "/upload.bin", std::ios::binary).read(body.data(), kSize);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &mac_len);
  const std::string signature = "X-Hub-Signature-256: sha256=" + Hex(mac, mac_len);
  std::string path = flow["webhook_url"].get<std::string>();
  path = path.substr(path.find("/hooks/"));

  const int64_t files_before = CountFiles(server().data_dir() + "/files");
  HttpResult bad = api().Request(
      "POST", path, body,
      {"Content-Type: application/octet-stream", "X-Hub-Signature-256: sha256=00"}, 120s);
  EXPECT_EQ(bad.status, 401) << bad.body;

  const int64_t anon_before = ProcStatusKb(server().pid(), "RssAnon");
  AnonPeak anon(server().pid());
  HttpResult hook = api().Request("POST", path, body,
                                  {"Content-Type: application/octet-stream", signature}, 120s);
  const int64_t grew_kb = anon.Stop() - anon_before;
  ASSERT_EQ(hook.status, 202) << hook.body;
  EXPECT_LT(grew_kb, 64 * 1024) << "kB of weft's own memory for a 256 MiB body";
  Json run = WaitRunFinished(api(), hook.json["run_id"], 120s);
  ASSERT_EQ(run["status"], "succeeded") << run.dump();
  Json file = run["trigger"]["body"];
  EXPECT_EQ(file["type"], "file");
  EXPECT_EQ(file["size"], kSize);
  EXPECT_EQ(file["content_type"], "application/octet-stream");
  EXPECT_EQ(file["sha256"], sha);
  // One file more: the refused upload kept nothing.
  EXPECT_EQ(CountFiles(server().data_dir() + "/files"), files_before + 1);
}

// A 1 GiB file of random bytes through every connector that moves bytes:
// HTTP download -> sftp.put (sshd on loopback) -> sftp.get -> s3.put (s3rver)
// -> s3.get -> HTTP upload. The sha256 at every hop is the source's, and
// weft's memory stays far below the file's size.
TEST_F(FilesTest, AGigabyteGoesThroughHttpSftpAndS3AndBackIntact) {
  if (access("/usr/sbin/sshd", X_OK) != 0) GTEST_SKIP() << "no /usr/sbin/sshd (openssh-server)";
  if (access(WEFT_TEST_SERVERS_DIR "/node_modules/s3rver/package.json", R_OK) != 0)
    GTEST_SKIP() << "s3rver is not installed (scripts/install-deps runs npm ci in tests/servers)";
  const size_t kSize = 1u << 30;
  const std::string tmp = server().temp_dir();
  for (const char* d : {"/blobs", "/sftp", "/sftp/in", "/bucket", "/ssh"})
    fs::create_directories(tmp + d);
  const std::string source_sha = WriteRandomFile(tmp + "/blobs/master.mov", kSize);
  weft::testing::ChildServer blobs(
      {weft::testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/blob_server.py", tmp + "/blobs"});
  ASSERT_GT(blobs.port(), 0) << blobs.error();
  weft::testing::ChildServer s3({"node", WEFT_TEST_SERVERS_DIR "/s3_server.js", tmp + "/bucket"});
  ASSERT_GT(s3.port(), 0) << s3.error();
  // sshd on a free loopback port, with a key of this test's own.
  if (getuid() == 0) {
    std::error_code ec;
    fs::create_directories("/run/sshd", ec);
  }
  const std::string ssh = tmp + "/ssh";
  for (const char* k : {"host_key", "user_key"}) {
    std::string cmd =
        "ssh-keygen -q -t ecdsa -b 256 -N '' -f " + ssh + "/" + k + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  fs::copy_file(ssh + "/user_key.pub", ssh + "/authorized_keys");
  const int ssh_port = weft::testing::FreePort();
  {
    std::ofstream cfg(ssh + "/sshd_config");
    cfg << "Port " << ssh_port << "\nListenAddress 127.0.0.1\nHostKey " << ssh << "/host_key\n"
        << "AuthorizedKeysFile " << ssh << "/authorized_keys\nPidFile " << ssh << "/sshd.pid\n"
        << "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        << "PubkeyAuthentication yes\nPermitRootLogin yes\nSubsystem sftp internal-sftp\n";
  }
  weft::testing::ChildServer sshd(
      {"/usr/sbin/sshd", "-D", "-f", ssh + "/sshd_config", "-E", ssh + "/sshd.log"}, ssh_port,
      15'000);
  ASSERT_NE(sshd.port(), 0) << sshd.error() << weft::testing::ReadFile(ssh + "/sshd.log");
  std::string user = getuid() == 0 ? "root" : (getenv("USER") ? getenv("USER") : "root");

  auto connection = [&](const Json& body) {
    HttpResult r = api().Post("/api/v1/connections", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return GetString(r.json, "name");
  };
  const std::string sftp =
      connection(Json{{"name", UniqueName("sftp")},
                      {"connector", "sftp"},
                      {"settings", {{"host", "127.0.0.1"}, {"port", ssh_port}}},
                      {"auth",
                       {{"type", "private_key"},
                        {"username", user},
                        {"private_key", weft::testing::ReadFile(ssh + "/user_key")}}}});
  const std::string bucket = connection(Json{
      {"name", UniqueName("s3")},
      {"connector", "s3"},
      {"settings",
       {{"bucket", "test-bucket"},
        {"endpoint", "http://127.0.0.1:" + std::to_string(s3.port())},
        {"path_style", true}}},
      {"auth",
       {{"type", "access_key"}, {"access_key_id", "S3RVER"}, {"secret_access_key", "S3RVER"}}}});
  const std::string base = "http://127.0.0.1:" + std::to_string(blobs.port());
  const std::string remote = tmp + "/sftp/in/master.mov";
  Json steps = Json::array(
      {{{"id", "download"},
        {"uses", "http.request"},
        {"with", {{"url", base + "/files/master.mov"}, {"timeout", "10m"}}}},
       {{"id", "sftp_put"},
        {"uses", "sftp.put"},
        {"connection", sftp},
        {"with", {{"path", remote}, {"file", "{{ steps.download.output.body }}"}}}},
       {{"id", "sftp_get"},
        {"uses", "sftp.get"},
        {"connection", sftp},
        {"with", {{"path", remote}, {"as", "file"}}}},
       {{"id", "s3_put"},
        {"uses", "s3.put"},
        {"connection", bucket},
        {"with", {{"key", "masters/master.mov"}, {"file", "{{ steps.sftp_get.output.file }}"}}}},
       {{"id", "s3_get"},
        {"uses", "s3.get"},
        {"connection", bucket},
        {"with", {{"key", "masters/master.mov"}, {"as", "file"}}}},
       {{"id", "upload"},
        {"uses", "http.request"},
        {"with",
         {{"method", "PUT"},
          {"url", base + "/upload/final.mov"},
          {"timeout", "10m"},
          {"body", "{{ steps.s3_get.output.file }}"}}}}});
  for (auto& step : steps) step["timeout"] = "10m";
  Json flow = CreateFlow(api(), Json{{"name", UniqueName("chain")}, {"steps", steps}});
  const int64_t rss_before = ProcStatusKb(server().pid(), "VmRSS");
  HttpResult started = api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/runs");
  ASSERT_EQ(started.status, 202) << started.body;
  Json run = WaitRunFinished(api(), started.json["id"], 300s);
  const int64_t peak = ProcStatusKb(server().pid(), "VmHWM");
  ASSERT_EQ(run["status"], "succeeded") << run.dump();

  EXPECT_EQ(StepOf(run, "download")["output"]["body"]["sha256"], source_sha);
  EXPECT_EQ(StepOf(run, "sftp_put")["output"]["sha256"], source_sha);
  EXPECT_EQ(StepOf(run, "sftp_get")["output"]["file"]["sha256"], source_sha);
  EXPECT_EQ(StepOf(run, "s3_put")["output"]["sha256"], source_sha);
  EXPECT_EQ(StepOf(run, "s3_put")["output"]["parts"], 16);
  EXPECT_EQ(StepOf(run, "s3_get")["output"]["file"]["sha256"], source_sha);
  Json uploaded = StepOf(run, "upload")["output"]["body"];
  EXPECT_EQ(uploaded["size"], kSize);
  EXPECT_EQ(uploaded["sha256"], source_sha);
  // The far sides hold the bytes too (the SFTP server's file, read here).
  EXPECT_EQ(fs::file_size(remote), kSize);
  EXPECT_LT(peak - rss_before, 64 * 1024) << "peak RSS " << peak << " kB, before " << rss_before;
  EXPECT_LT(run.dump().size(), 20'000u) << "the run carries references, not bytes";
}

// --files s3://...: a bad URL, a bucket nobody answers for, one that refuses
// the write and --files-connection without a bucket all stop the start with
// a message naming the flag.
TEST_F(FilesTest, TheBucketFlagIsCheckedAtStart) {
  const std::string data = server().temp_dir() + "/other-data";
  auto serve = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--data", data};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunWeft(args, 30s);
  };
  auto bad = serve({"--files", "s3://Not_A_Bucket/x"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--files s3://Not_A_Bucket/x: a bucket name has"), std::string::npos)
      << bad.output;
  auto lonely = serve({"--files-connection", "media"});
  EXPECT_NE(lonely.exit_code, 0);
  EXPECT_NE(lonely.output.find("--files-connection names the credentials of a bucket"),
            std::string::npos)
      << lonely.output;
  unsetenv("AWS_ACCESS_KEY_ID");
  auto anonymous = serve({"--files", "s3://media-bucket/weft"});
  EXPECT_NE(anonymous.exit_code, 0);
  EXPECT_NE(anonymous.output.find("set AWS_ACCESS_KEY_ID"), std::string::npos) << anonymous.output;

  setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
  setenv("AWS_ENDPOINT_URL",
         ("http://127.0.0.1:" + std::to_string(weft::testing::FreePort())).c_str(), 1);
  auto down = serve({"--files", "s3://media-bucket/weft"});
  EXPECT_NE(down.exit_code, 0);
  EXPECT_NE(down.output.find("--files s3://media-bucket/weft: the file store "
                             "s3://media-bucket/weft is unreachable"),
            std::string::npos)
      << down.output;
  if (access(WEFT_TEST_SERVERS_DIR "/node_modules/s3rver/package.json", R_OK) == 0) {
    const std::string dir = server().temp_dir() + "/bucket";
    fs::create_directories(dir);
    weft::testing::ChildServer s3({"node", WEFT_TEST_SERVERS_DIR "/s3_server.js", dir});
    ASSERT_GT(s3.port(), 0) << s3.error();
    setenv("AWS_ENDPOINT_URL", ("http://127.0.0.1:" + std::to_string(s3.port())).c_str(), 1);
    auto missing = serve({"--files", "s3://media-bucket/weft"});
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_NE(missing.output.find("refused a test write: HTTP 404 (NoSuchBucket"),
              std::string::npos)
        << missing.output;
  }
  for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"})
    unsetenv(v);
}

// The file store on a 16 MB file system: a 40 MiB download fails its step
// with "the disk is full" (the server goes on answering), leaves no part
// file and no file behind, and a 1 MiB download right after succeeds.
TEST(FilesDiskTest, AFullFileStoreFailsTheStepNotTheServerAndKeepsNothingHalfWritten) {
  if (std::getenv("WEFT_TEST_DB")) GTEST_SKIP() << "SQLite data dirs only";
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root (CI runs as root)";
  char tmpl[] = "/tmp/weft-files-full-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  const std::string files = root + "/files";
  fs::create_directories(files);
  if (::mount("tmpfs", files.c_str(), "tmpfs", 0, "size=16m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  struct Cleanup {
    std::string root, files;
    ~Cleanup() {
      ::umount2(files.c_str(), MNT_DETACH);
      std::error_code ec;
      fs::remove_all(root, ec);
    }
  } cleanup{root, files};
  const std::string blobs_dir = root + "/blobs";
  fs::create_directories(blobs_dir);
  WriteRandomFile(blobs_dir + "/big.bin", 40u << 20);
  const std::string small_sha = WriteRandomFile(blobs_dir + "/small.bin", 1u << 20);
  weft::testing::ChildServer blobs({weft::testing::SystemPython(),
                                    std::string(WEFT_TEST_SERVERS_DIR) + "/blob_server.py",
                                    blobs_dir});
  ASSERT_GT(blobs.port(), 0) << blobs.error();
  const std::string base = "http://127.0.0.1:" + std::to_string(blobs.port());

  WeftServer server({"--files", files});
  ASSERT_TRUE(server.running()) << server.Logs();
  const Client& api = server.api();
  auto download = [&](const std::string& name) {
    Json flow = CreateFlow(
        api, Json{{"name", UniqueName("get")},
                  {"steps",
                   {{{"id", "get"},
                     {"uses", "http.request"},
                     {"with", {{"url", base + "/files/" + name}, {"response_type", "file"}}}}}}});
    HttpResult started = api.Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/runs");
    EXPECT_EQ(started.status, 202) << started.body;
    return WaitRunFinished(api, started.json["id"], 120s);
  };

  Json big = download("big.bin");
  EXPECT_EQ(big["status"], "failed") << big.dump();
  EXPECT_NE(big.dump().find("the disk is full"), std::string::npos) << big.dump();
  EXPECT_EQ(api.Get("/healthz").status, 200);
  size_t left = 0;
  for (const auto& e : fs::recursive_directory_iterator(files))
    if (e.is_regular_file()) ++left;
  EXPECT_EQ(left, 0u) << "a part file or a half-written file stayed";

  Json small = download("small.bin");
  ASSERT_EQ(small["status"], "succeeded") << small.dump();
  EXPECT_EQ(StepOf(small, "get")["output"]["body"]["sha256"], small_sha);
}

TEST_F(FilesTest, AKillDuringADownloadLeavesNoOrphanAndTheRunFinishesOnce) {
  const size_t kSize = 1u << 30;  // 1 GiB: long enough to be cut
  std::string dir = server().temp_dir() + "/blobs";
  fs::create_directories(dir);
  const std::string sha = WriteRandomFile(dir + "/big.bin", kSize);
  weft::testing::ChildServer blobs(
      {weft::testing::SystemPython(), std::string(WEFT_TEST_SERVERS_DIR) + "/blob_server.py", dir});
  ASSERT_GT(blobs.port(), 0) << blobs.error();
  const std::string base = "http://127.0.0.1:" + std::to_string(blobs.port());
  Json flow = CreateFlow(api(), Json{{"name", UniqueName("big")},
                                     {"steps",
                                      {{{"id", "get"},
                                        {"uses", "http.request"},
                                        {"retry", {{"attempts", 3}, {"delay", "1s"}}},
                                        {"with", {{"url", base + "/files/big.bin"}}}}}}});
  HttpResult started = api().Post("/api/v1/flows/" + flow["id"].get<std::string>() + "/runs");
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string run_id = started.json["id"];
  const std::string tmp = server().data_dir() + "/files/tmp";
  // Kill once the download is under way (a part file is growing).
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& e : fs::directory_iterator(tmp))
          if (e.file_size() > (16u << 20)) return true;
        return false;
      },
      60s));
  server().Kill9();
  server().Restart();
  Json run = WaitRunFinished(api(), run_id, 180s);
  ASSERT_EQ(run["status"], "succeeded") << run.dump();
  Json file = StepOf(run, "get")["output"]["body"];
  EXPECT_EQ(file["sha256"], sha);
  // One file in the store, nothing half-written left.
  size_t files = 0, parts = 0;
  for (const auto& e : fs::recursive_directory_iterator(server().data_dir() + "/files")) {
    if (!e.is_regular_file()) continue;
    if (e.path().parent_path().filename() == "tmp")
      ++parts;
    else if (e.path().extension() != ".json")
      ++files;
  }
  EXPECT_EQ(files, 1u);
  EXPECT_EQ(parts, 0u);
  // And the run finished once.
  HttpResult runs = api().Get("/api/v1/runs?flow_id=" + flow["id"].get<std::string>());
  EXPECT_EQ(runs.json["runs"].size(), 1u);
}

}  // namespace
}  // namespace weft::itest
