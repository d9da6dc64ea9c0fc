// smtp.send against a real SMTP server on loopback (aiosmtpd), which writes
// every message it receives to a folder the test reads.
#include "connectors/smtp/smtp.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "connectors/testing/child_server.h"
#include "connectors/testing/file_values_checks.h"
#include "connectors/testing/run_action.h"

namespace weft::connectors {
namespace {

using testing::MakeConnection;
using testing::RunAction;

class SmtpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterSmtp(catalog_);
    dir_ = testing::MakeTempDir("weft-smtp");
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  // The messages the server recorded, in order.
  std::vector<Json> Mail() {
    std::vector<Json> out;
    for (int n = 1; std::filesystem::exists(dir_ + "/" + std::to_string(n) + ".json"); ++n)
      out.push_back(Json::parse(testing::ReadFile(dir_ + "/" + std::to_string(n) + ".json")));
    return out;
  }

  ActionCatalog catalog_;
  std::string dir_;
};

TEST_F(SmtpTest, SendsTextHtmlAndAttachmentsWithAuth) {
  testing::ChildServer server(
      {testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/smtp_server.py", dir_});
  ASSERT_NE(server.port(), 0) << server.error();
  Connection c = MakeConnection("smtp",
                                {{"host", "127.0.0.1"},
                                 {"port", server.port()},
                                 {"security", "none"},
                                 {"from", "Weft <weft@example.com>"}},
                                {{"type", "login"}, {"username", "mailer"}, {"password", "pw"}});
  auto r = RunAction(catalog_, "smtp.send",
                     {{"to", {"ada@example.com", "Bob <bob@example.com>"}},
                      {"cc", "carol@example.com"},
                      {"bcc", "dan@example.com"},
                      {"subject", "Report – November"},
                      {"text", "Hello Ada"},
                      {"html", "<p>Hello <b>Ada</b></p>"},
                      {"attachments",
                       {{{"filename", "report.csv"},
                         {"content_base64", "YSxiCjEsMgo="},
                         {"content_type", "text/csv"}}}}},
                     &c);
  ASSERT_FALSE(r.outcome.error) << r.error();
  auto mail = Mail();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0]["mail_from"], "weft@example.com");
  EXPECT_EQ(mail[0]["rcpt_tos"],
            Json({"ada@example.com", "bob@example.com", "carol@example.com", "dan@example.com"}));
  EXPECT_EQ(mail[0]["auth"], true);
  std::string data = mail[0]["data"];
  EXPECT_NE(data.find("To: ada@example.com, Bob <bob@example.com>"), std::string::npos) << data;
  EXPECT_NE(data.find("Cc: carol@example.com"), std::string::npos);
  EXPECT_EQ(data.find("dan@example.com"), std::string::npos);  // bcc stays out of the headers
  EXPECT_NE(data.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(data.find("Hello Ada"), std::string::npos);
  EXPECT_NE(data.find("text/html"), std::string::npos);
  EXPECT_NE(data.find("filename=\"report.csv\""), std::string::npos);
  EXPECT_NE(data.find("YSxiCjEsMgo="), std::string::npos);
  EXPECT_NE(data.find(r.output()["message_id"].get<std::string>()), std::string::npos);

  SystemClock clock;
  EXPECT_TRUE((*catalog_.FindTester("smtp"))(c, clock).ok);
}

TEST_F(SmtpTest, WrongPasswordFailsWithoutShowingIt) {
  testing::ChildServer server(
      {testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/smtp_server.py", dir_});
  ASSERT_NE(server.port(), 0) << server.error();
  Connection c =
      MakeConnection("smtp", {{"host", "127.0.0.1"}, {"port", server.port()}, {"security", "none"}},
                     {{"type", "login"}, {"username", "mailer"}, {"password", "not-the-password"}});
  auto r = RunAction(
      catalog_, "smtp.send",
      {{"to", "a@example.com"}, {"from", "w@example.com"}, {"subject", "x"}, {"text", "y"}}, &c);
  ASSERT_TRUE(r.outcome.error);
  EXPECT_NE(r.error().find("refused the login"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find("not-the-password"), std::string::npos);
  EXPECT_TRUE(Mail().empty());
  SystemClock clock;
  EXPECT_FALSE((*catalog_.FindTester("smtp"))(c, clock).ok);
  auto no_to = RunAction(catalog_, "smtp.send", {{"from", "w@example.com"}, {"subject", "x"}}, &c);
  ASSERT_TRUE(no_to.outcome.error);
  EXPECT_EQ(no_to.outcome.error->details.at(0).path, "with.to");
}

std::string Base64Of(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

TEST_F(SmtpTest, AFileValueIsAttachedAsAStream) {
  testing::ChildServer server(
      {testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/smtp_server.py", dir_});
  ASSERT_NE(server.port(), 0) << server.error();
  Connection c =
      MakeConnection("smtp", {{"host", "127.0.0.1"}, {"port", server.port()}, {"security", "none"}},
                     {{"type", "login"}, {"username", "mailer"}, {"password", "pw"}});
  testing::TempFileStore files;
  // 1 MiB: enough for many reads of the file; the Python server parses the
  // whole message, which took over 30 s for 3 MiB under ASan on a busy machine.
  const std::string bytes = testing::RandomBytes(1u << 20, 5);
  auto report = WriteWholeFile(*files.get(), "report.pdf", "application/pdf", bytes);
  ASSERT_TRUE(report);
  auto r = RunAction(
      catalog_, "smtp.send",
      {{"to", "ada@example.com"},
       {"from", "w@example.com"},
       {"subject", "the report"},
       {"text", "attached"},
       {"attachments",
        {{{"file", report->ToJson()}}, {{"file", report->ToJson()}, {"filename", "renamed.bin"}}}}},
      &c, Millis(60'000), nullptr, files.get());
  ASSERT_FALSE(r.outcome.error) << r.error();
  auto mail = Mail();
  ASSERT_EQ(mail.size(), 1u);
  std::string data = mail[0]["data"];
  EXPECT_NE(data.find("filename=\"report.pdf\""), std::string::npos);
  EXPECT_NE(data.find("Content-Type: application/pdf"), std::string::npos);
  EXPECT_NE(data.find("filename=\"renamed.bin\""), std::string::npos);
  // The first attachment's body, base64 in lines, is the file's bytes.
  size_t at = data.find("filename=\"report.pdf\"");
  size_t body = data.find("\r\n\r\n", at);
  if (body == std::string::npos) body = data.find("\n\n", at);
  ASSERT_NE(body, std::string::npos);
  size_t end = data.find("\n--", body);
  std::string b64;
  for (size_t i = body; i < end; ++i)
    if (!std::isspace(static_cast<unsigned char>(data[i]))) b64 += data[i];
  EXPECT_EQ(b64.size(), Base64Of(bytes).size());
  EXPECT_TRUE(b64 == Base64Of(bytes));

  Json ghost = report->ToJson();
  ghost["id"] = NewFileId();
  auto missing = RunAction(catalog_, "smtp.send",
                           {{"to", "ada@example.com"},
                            {"from", "w@example.com"},
                            {"subject", "x"},
                            {"attachments", {{{"file", ghost}}}}},
                           &c, Millis(10'000), nullptr, files.get());
  ASSERT_TRUE(missing.outcome.error);
  EXPECT_NE(missing.error().find("with.attachments[0].file: file " +
                                 ghost["id"].get<std::string>() + " does not exist"),
            std::string::npos)
      << missing.error();
  EXPECT_EQ(Mail().size(), 1u);
}

TEST_F(SmtpTest, StartTls) {
  std::string cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 -keyout " + key +
      " -out " + cert + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "no openssl command to make a certificate";
  std::string mail_dir = dir_ + "/mail";
  std::filesystem::create_directory(mail_dir);
  testing::ChildServer server(
      {testing::SystemPython(), WEFT_TEST_SERVERS_DIR "/smtp_server.py", mail_dir, cert, key});
  ASSERT_NE(server.port(), 0) << server.error();
  Connection c = MakeConnection("smtp",
                                {{"host", "127.0.0.1"},
                                 {"port", server.port()},
                                 {"security", "starttls"},
                                 {"verify_tls", false}},
                                {{"type", "login"}, {"username", "mailer"}, {"password", "pw"}});
  auto r = RunAction(catalog_, "smtp.send",
                     {{"to", "a@example.com"},
                      {"from", "w@example.com"},
                      {"subject", "tls"},
                      {"text", "secret words"}},
                     &c);
  ASSERT_FALSE(r.outcome.error) << r.error();
  auto got = Json::parse(testing::ReadFile(mail_dir + "/1.json"));
  EXPECT_EQ(got["tls"], true);
  EXPECT_NE(got["data"].get<std::string>().find("secret words"), std::string::npos);
}

}  // namespace
}  // namespace weft::connectors
