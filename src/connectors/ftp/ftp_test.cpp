// The ftp connector against a real FTP server on loopback (pyftpdlib).
#include "connectors/ftp/ftp.h"

#include "connectors/common/file_transfer.h"
#include "connectors/testing/file_transfer_checks.h"
#include "connectors/testing/file_values_checks.h"

namespace weft::connectors {
namespace {

TEST(FtpTest, EveryActionAgainstARealServer) {
  std::string root = testing::MakeTempDir("weft-ftp");
  {
    testing::ChildServer server(
        {testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/ftp_server.py", root});
    ASSERT_NE(server.port(), 0) << server.error();
    ActionCatalog catalog;
    RegisterFtp(catalog);
    Connection c = testing::MakeConnection(
        "ftp", {{"host", "127.0.0.1"}, {"port", server.port()}},
        {{"type", "password"}, {"username", "ftpuser"}, {"password", "pw"}});
    testing::CheckFileActions(catalog, "ftp", c, root, "/");

    SystemClock clock;
    EXPECT_TRUE((*catalog.FindTester("ftp"))(c, clock).ok);
    Connection wrong = c;
    wrong.auth["password"] = "wrong-pass";
    auto t = (*catalog.FindTester("ftp"))(wrong, clock);
    EXPECT_FALSE(t.ok);
    EXPECT_NE(t.message.find("refused the login"), std::string::npos) << t.message;
    EXPECT_EQ(t.message.find("wrong-pass"), std::string::npos);
  }
  testing::RemoveTree(root);
}

TEST(FtpTest, FileValuesStreamBothWays) {
  std::string root = testing::MakeTempDir("weft-ftp");
  {
    testing::ChildServer server(
        {testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/ftp_server.py", root});
    ASSERT_NE(server.port(), 0) << server.error();
    ActionCatalog catalog;
    RegisterFtp(catalog);
    Connection c = testing::MakeConnection(
        "ftp", {{"host", "127.0.0.1"}, {"port", server.port()}},
        {{"type", "password"}, {"username", "ftpuser"}, {"password", "pw"}});
    testing::CheckFileValueActions(catalog, "ftp", c, root, "/");
  }
  testing::RemoveTree(root);
}

TEST(FtpTest, ParsesListingLines) {
  auto e = ParseListLine("-rw-r--r--   1 owner    group        5 Nov 28 18:39 a file.txt");
  EXPECT_EQ(e["name"], "a file.txt");
  EXPECT_EQ(e["size"], 5);
  EXPECT_EQ(ParseListLine("lrwxrwxrwx 1 u g 4 Jan  1  2025 ln -> target")["name"], "ln");
  EXPECT_TRUE(ParseListLine("total 8").is_null());
}

}  // namespace
}  // namespace weft::connectors
