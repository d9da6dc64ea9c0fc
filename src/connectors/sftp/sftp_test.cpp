// The sftp connector against Debian's OpenSSH sshd, started by the test on a
// loopback port with a temp host key and an authorized key made here.
#include "connectors/sftp/sftp.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "connectors/testing/file_transfer_checks.h"
#include "connectors/testing/file_values_checks.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_SFTP_TEST_ASAN 1
#endif
#elif defined(__SANITIZE_ADDRESS__)
#define WEFT_SFTP_TEST_ASAN 1
#endif
#ifdef WEFT_SFTP_TEST_ASAN
// Under AddressSanitizer: full stacks for allocations. libcrypto has no frame
// pointers, so the quick unwinder stops inside it and the suppression of
// libssh2's own leak of an ECDSA key's BIGNUM (scripts/sanitizers/lsan.supp)
// would not see libssh2 in the stack. Only this test signs in with a key.
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
#endif

namespace weft::connectors {
namespace {

class SftpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/sbin/sshd", X_OK) != 0) GTEST_SKIP() << "no /usr/sbin/sshd (openssh-server)";
    // sshd's privilege separation directory (a fresh container has none).
    if (getuid() == 0) {
      std::error_code ec;
      std::filesystem::create_directories("/run/sshd", ec);
    }
    dir_ = testing::MakeTempDir("weft-sftp");
    root_ = dir_ + "/files";
    std::filesystem::create_directory(root_);
    for (const char* k : {"host_key", "user_key"}) {
      std::string cmd =
          "ssh-keygen -q -t ecdsa -b 256 -N '' -f " + dir_ + "/" + k + " >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    std::filesystem::copy_file(dir_ + "/user_key.pub", dir_ + "/authorized_keys");
    port_ = testing::FreePort();
    std::ofstream cfg(dir_ + "/sshd_config");
    cfg << "Port " << port_ << "\nListenAddress 127.0.0.1\nHostKey " << dir_ << "/host_key\n"
        << "AuthorizedKeysFile " << dir_ << "/authorized_keys\nPidFile " << dir_ << "/sshd.pid\n"
        << "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        << "PubkeyAuthentication yes\nPermitRootLogin yes\nSubsystem sftp internal-sftp\n";
    cfg.close();
    server_ = std::make_unique<testing::ChildServer>(
        std::vector<std::string>{"/usr/sbin/sshd", "-D", "-f", dir_ + "/sshd_config", "-E",
                                 dir_ + "/sshd.log"},
        port_, 15'000);
    ASSERT_NE(server_->port(), 0) << server_->error() << testing::ReadFile(dir_ + "/sshd.log");
    user_ = getenv("USER") ? getenv("USER") : "root";
    if (getuid() == 0) user_ = "root";
    RegisterSftp(catalog_);
  }
  void TearDown() override {
    server_.reset();
    testing::RemoveTree(dir_);
  }

  Connection KeyConnection() {
    return testing::MakeConnection("sftp", {{"host", "127.0.0.1"}, {"port", port_}},
                                   {{"type", "private_key"},
                                    {"username", user_},
                                    {"private_key", testing::ReadFile(dir_ + "/user_key")}});
  }

  std::string dir_, root_, user_;
  int port_ = 0;
  std::unique_ptr<testing::ChildServer> server_;
  ActionCatalog catalog_;
};

TEST_F(SftpTest, EveryActionWithAPrivateKey) {
  // A temp folder of this test's own, so another test's key file (tests run
  // side by side) is not taken for one left behind.
  const std::string tmp = dir_ + "/tmp";
  std::filesystem::create_directories(tmp);
  ::setenv("TMPDIR", tmp.c_str(), 1);
  Connection c = testing::MakeConnection("sftp", {{"host", "127.0.0.1"}, {"port", port_}},
                                         {{"type", "private_key"},
                                          {"username", user_},
                                          {"private_key", testing::ReadFile(dir_ + "/user_key")}});
  testing::CheckFileActions(catalog_, "sftp", c, root_, root_ + "/");
  SystemClock clock;
  auto ok = (*catalog_.FindTester("sftp"))(c, clock);
  EXPECT_TRUE(ok.ok) << ok.message;
  // No key file is left behind in the temp folder.
  ASSERT_EQ(std::filesystem::temp_directory_path(), std::filesystem::path(tmp));
  for (const auto& e : std::filesystem::directory_iterator(tmp))
    EXPECT_EQ(e.path().filename().string().find("weft-key-"), std::string::npos);
  ::unsetenv("TMPDIR");
}

TEST_F(SftpTest, FileValuesStreamBothWays) {
  testing::CheckFileValueActions(catalog_, "sftp", KeyConnection(), root_, root_ + "/");
}

// 200 MiB down into a file and back up: the bytes stream through the file
// store, so the test process grows by far less than the file.
TEST_F(SftpTest, A200MiBGetAndPutKeepMemoryFlat) {
  Connection c = KeyConnection();
  testing::TempFileStore files;
  testing::WriteRandomFile(root_ + "/big.bin", 200, 7);
  bool reset = testing::ResetPeakRss();
  int64_t before = testing::StatusKb("VmRSS");
  auto get = testing::RunAction(catalog_, "sftp.get", {{"path", root_ + "/big.bin"}}, &c,
                                Millis(600'000), nullptr, files.get());
  ASSERT_FALSE(get.outcome.error) << get.error();
  EXPECT_EQ(get.output()["file"]["size"], 200u << 20);
  auto put = testing::RunAction(catalog_, "sftp.put",
                                {{"path", root_ + "/big-copy.bin"}, {"file", get.output()["file"]}},
                                &c, Millis(600'000), nullptr, files.get());
  ASSERT_FALSE(put.outcome.error) << put.error();
  int64_t peak = testing::StatusKb(reset ? "VmHWM" : "VmRSS");
  int64_t after = testing::StatusKb("VmRSS");
  std::cout << "[ rss ] before " << before / 1024 << " MiB, peak " << peak / 1024 << " MiB, after "
            << after / 1024 << " MiB (peak " << (reset ? "VmHWM" : "VmRSS") << ")\n";
  if (testing::kRssMeansSomething)
    EXPECT_LT(peak - before, 64 * 1024) << "grew by " << (peak - before) / 1024 << " MiB";
  EXPECT_EQ(std::system(("cmp -s " + root_ + "/big.bin " + root_ + "/big-copy.bin").c_str()), 0);
}

TEST_F(SftpTest, ARefusedLoginFails) {
  Connection c = testing::MakeConnection(
      "sftp", {{"host", "127.0.0.1"}, {"port", port_}},
      {{"type", "password"}, {"username", user_}, {"password", "nope-secret"}});
  auto r = testing::RunAction(catalog_, "sftp.list", {{"path", root_}}, &c);
  ASSERT_TRUE(r.outcome.error);
  EXPECT_EQ(r.error().find("nope-secret"), std::string::npos);
  SystemClock clock;
  EXPECT_FALSE((*catalog_.FindTester("sftp"))(c, clock).ok);
}

}  // namespace
}  // namespace weft::connectors
