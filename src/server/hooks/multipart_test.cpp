// multipart/form-data webhook bodies: parts as the senders post them, file
// parts kept as file values.
#include "server/hooks/multipart.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "server/hooks/receiver.h"
#include "store/files/local_file_store.h"

namespace weft::server::hooks {
namespace {

const std::string kType = "multipart/form-data; boundary=\"XyZ\"";
const std::string kBody =
    "preamble\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
    "Summer hero\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"asset\"; filename=\"hero.jpg\"\r\n"
    "Content-Type: image/jpeg\r\n\r\n"
    "\xff\xd8\xff\xe0 bytes\r\n with CRLF inside\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"tag\"\r\n\r\n"
    "a\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"tag\"\r\n\r\n"
    "b\r\n"
    "--XyZ--\r\n";

TEST(Multipart, PartsWithNamesFilenamesAndTypes) {
  EXPECT_EQ(MultipartBoundary(kType), "XyZ");
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=abc; charset=x"), "abc");
  EXPECT_EQ(MultipartBoundary("multipart/form-data"), "");
  auto parts = ParseMultipart(kBody, "XyZ");
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 4u);
  EXPECT_EQ((*parts)[0].name, "title");
  EXPECT_FALSE((*parts)[0].filename);
  EXPECT_EQ((*parts)[0].data, "Summer hero");
  EXPECT_EQ((*parts)[1].filename, "hero.jpg");
  EXPECT_EQ((*parts)[1].content_type, "image/jpeg");
  EXPECT_EQ((*parts)[1].data, "\xff\xd8\xff\xe0 bytes\r\n with CRLF inside");
}

TEST(Multipart, MalformedBodiesAreRefused) {
  EXPECT_FALSE(ParseMultipart("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx", "XyZ"));
  EXPECT_FALSE(ParseMultipart("no delimiter here", "XyZ"));
  EXPECT_FALSE(ParseMultipart(kBody, ""));
  auto empty = ParseMultipart("--XyZ\r\n\r\n--XyZ--", "XyZ");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->size(), 1u);
}

TEST(Multipart, FilePartsBecomeFileValuesInTheTrigger) {
  auto dir = std::filesystem::temp_directory_path() / ("weft-mp-" + std::to_string(::getpid()));
  LocalFileStoreOptions o;
  o.dir = dir;
  auto files = LocalFileStore::Open(o);
  ASSERT_TRUE(files);
  auto body = ParseWebhookBody(kType, kBody, files->get());
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ((*body)["title"], "Summer hero");
  EXPECT_EQ((*body)["tag"], Json::array({"a", "b"}));
  const Json& asset = (*body)["asset"];
  ASSERT_TRUE(IsFileValue(asset)) << body->dump();
  EXPECT_EQ(asset["name"], "hero.jpg");
  EXPECT_EQ(asset["content_type"], "image/jpeg");
  EXPECT_EQ(*ReadWholeFile(**files, asset["id"], 100, "x"),
            "\xff\xd8\xff\xe0 bytes\r\n with CRLF inside");

  // Bytes of no text type: one file; without a file store, base64 as before.
  auto pdf = ParseWebhookBody("application/pdf", "%PDF-1.7\x01\x02", files->get());
  ASSERT_TRUE(pdf);
  EXPECT_EQ((*pdf)["content_type"], "application/pdf");
  EXPECT_TRUE(ParseWebhookBody("application/pdf", "%PDF-1.7\x01\x02")->is_string());
  EXPECT_FALSE(ParseWebhookBody(kType, "garbage", files->get()));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace weft::server::hooks
